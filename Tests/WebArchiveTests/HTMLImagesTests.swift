import Testing

@testable import WebArchive

/// The pictures a page shows, as the HTML standard places them.
struct HTMLImagesTests {
    static func images(_ html: String, page: String = "https://site.example/news/story.html") -> HTMLImages {
        HTMLImages(html: Array(html.utf8), pageURL: page)
    }

    @Test func everyWayAPageEmbedsAPictureIsFound() {
        let page = Self.images(
            """
            <!doctype html><html><head>
            <meta property="og:image" content="https://cdn.example/og.jpg">
            <meta name=twitter:image content=/tw.jpg>
            <title>Story</title></head><body>
            <picture><source srcset="a-800.webp 800w, a-1600.webp 1600w" type="image/webp"><img src="a.jpg" alt=""></picture>
            <IMG SRC='../shared/b.jpg?w=1&amp;h=2'>
            <img srcset="https://cdn.example/c.jpg?crop=1,2,3 1x, d.jpg 2x">
            <img src="data:image/png;base64,AAAA">
            </body></html>
            """)
        #expect(page.title == "Story")
        #expect(
            page.imageURLs == [
                "https://cdn.example/og.jpg", "https://site.example/tw.jpg", "https://site.example/news/a-800.webp",
                "https://site.example/news/a-1600.webp", "https://site.example/news/a.jpg", "https://site.example/shared/b.jpg?w=1&h=2",
                "https://cdn.example/c.jpg?crop=1,2,3", "https://site.example/news/d.jpg",
            ])
    }

    @Test func theBaseTagMovesRelativeURLsAndOnlyTheFirstCounts() {
        let page = Self.images("<base href='https://img.example/2020/'><base href='/other/'><img src='p.jpg'><img src='/q.jpg'>")
        #expect(page.imageURLs == ["https://img.example/2020/p.jpg", "https://img.example/q.jpg"])
    }

    @Test func scriptsStylesAndCommentsShowNoPictures() {
        let page = Self.images(
            "<script>var s = '<img src=\"no1.jpg\">';</script><style>/* <img src=no2.jpg> */</style><!-- <img src=no3.jpg> --><img src=yes.jpg>")
        #expect(page.imageURLs == ["https://site.example/news/yes.jpg"])
        #expect(page.title == nil)
    }

    @Test func brokenMarkupNeverFails() {
        let page = Self.images("<img src='unterminated.jpg <title>x <img <<>> <img src=\"ok.jpg\"")
        #expect(page.imageURLs.count <= 2)
        #expect(Self.images("").imageURLs.isEmpty)
    }

    @Test func srcsetCandidatesSplitAsTheStandardSays() {
        #expect(HTMLImages.srcsetURLs("a.jpg, b.jpg 2x,c.jpg 100w , d.jpg,") == ["a.jpg", "b.jpg", "c.jpg", "d.jpg"])
        #expect(HTMLImages.srcsetURLs("  ") == [])
    }
}

/// The parts of a record Lineup decodes itself.
struct WARCRecordPartsTests {
    @Test func aChunkedBodyIsJoinedAndItsDigestMayCoverEitherForm() {
        let block = Array(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: image/png; x=1\r\n\r\n4\r\nWiki\r\n5;ext=1\r\npedia\r\n0\r\n\r\n".utf8)
        let response = HTTPResponse(parsing: block)
        #expect(response?.body == Array("Wikipedia".utf8))
        #expect(response?.mediaType == "image/png")
        #expect(HTTPResponse.dechunk(Array("5\r\nabc".utf8)) == nil)
        #expect(HTTPResponse(parsing: Array("not http\r\n\r\n".utf8)) == nil)
    }

    @Test func digestsAreCheckedInBase32AndHex() {
        let bytes = Array("abc".utf8)
        #expect(WARCRecord.digest("sha1:VGMT4NSHA2AWVOR6EVYXQUGCNSONBWE5", matches: bytes) == true)
        #expect(WARCRecord.digest("sha1:a9993e364706816aba3e25717850c26c9cd0d89d", matches: bytes) == true)
        #expect(WARCRecord.digest("sha1:VGMT4NSHA2AWVOR6EVYXQUGCNSONBWE4", matches: bytes) == false)
        #expect(WARCRecord.digest("md5:kAFQmDzST7DWlj99KOF/cg==", matches: bytes) == nil)
    }
}
