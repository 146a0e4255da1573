"""Writes the web archives Lineup's tests read, with warcio (an independent WARC
writer, from PyPI), so that Lineup's reader is tested on files it did not make.

Usage: warc_fixture.py SPEC.json
SPEC: {"output": PATH, "gzip": true|false, "version": "1.0"|"1.1", "records": [...]}
Each record is {"kind": K, "uri": URI, ...} with K one of
  page      an HTML response: "html"
  image     an image response: "file" (a photo), "content_type"
  resource  a resource record of a photo: "file", "content_type"
  revisit   a revisit of the earlier response at "of" (same payload digest); when
            "of" is not in this file, of one with "digest" and "date" (an earlier crawl)
  truncated an image response marked WARC-Truncated: "file"
  baddigest an image response whose payload digest is wrong: "file"
  damaged   an image response whose gzip member is then damaged: "file"
  cutoff    an image response cut off by the end of the file (must be last): "file"
Prints {"offsets": [...]} : where each record starts in the file, as written.
"""
import hashlib
import base64
import io
import json
import os
import sys

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter


def main():
    spec = json.load(open(sys.argv[1]))
    version = "WARC/" + spec.get("version", "1.1")
    offsets, digests, dates = [], {}, {}
    with open(spec["output"], "wb") as out:
        writer = WARCWriter(out, gzip=spec.get("gzip", True), warc_version=version)
        for record in spec["records"]:
            offsets.append(out.tell())
            kind, uri = record["kind"], record["uri"]
            if kind == "page":
                body = record["html"].encode()
                headers = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1")
                made = writer.create_warc_record(uri, "response", payload=io.BytesIO(body), length=len(body), http_headers=headers)
            elif kind == "revisit":
                of = record["of"]
                made = writer.create_revisit_record(uri, digests.get(of, record.get("digest")), of, dates.get(of, record.get("date")))
            else:
                body = open(record["file"], "rb").read()
                content_type = record.get("content_type", "image/jpeg")
                extra = {}
                if kind == "truncated":
                    extra["WARC-Truncated"] = "length"
                if kind == "resource":
                    made = writer.create_warc_record(uri, "resource", payload=io.BytesIO(body), length=len(body), warc_content_type=content_type,
                                                     warc_headers_dict=extra)
                else:
                    headers = StatusAndHeaders("200 OK", [("Content-Type", content_type)], protocol="HTTP/1.1")
                    made = writer.create_warc_record(uri, "response", payload=io.BytesIO(body), length=len(body), http_headers=headers,
                                                     warc_headers_dict=extra)
            if kind == "baddigest":
                # Set after the record is made: warcio computes the true digest when making it.
                made.rec_headers.replace_header("WARC-Payload-Digest", "sha1:" + base64.b32encode(hashlib.sha1(b"other").digest()).decode())
            writer.write_record(made)
            digests[uri] = made.rec_headers.get_header("WARC-Payload-Digest")
            dates[uri] = made.rec_headers.get_header("WARC-Date")
        end = out.tell()
    # Damage after writing, as a disk or a copy would.
    with open(spec["output"], "r+b") as out:
        for index, record in enumerate(spec["records"]):
            if record["kind"] == "damaged":
                following = offsets[index + 1] if index + 1 < len(offsets) else end
                out.seek(offsets[index] + (following - offsets[index]) // 2)
                out.write(b"\x00" * 64)
            if record["kind"] == "cutoff":
                out.truncate(offsets[index] + (end - offsets[index]) // 2)
    print(json.dumps({"offsets": offsets}))


if __name__ == "__main__":
    main()
