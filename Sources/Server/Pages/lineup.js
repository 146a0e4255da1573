// Lineup's pages work without this script; it adds the face picker to the search form.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("search-form");
  if (form) facePicker(form);
});

// On choosing a photo: show it, ask the server which faces it holds (POST /api/v1/detect,
// which searches nothing), outline them, and let the investigator click the one to search.
function facePicker(form) {
  const input = document.getElementById("photo");
  const preview = document.getElementById("photo-preview");
  const status = document.getElementById("detect-status");
  const choice = document.getElementById("face-choice");

  form.addEventListener("dragover", (event) => event.preventDefault());
  form.addEventListener("drop", (event) => {
    event.preventDefault();
    if (event.dataTransfer.files.length > 0) {
      input.files = event.dataTransfer.files;
      input.dispatchEvent(new Event("change"));
    }
  });

  input.addEventListener("change", async () => {
    preview.replaceChildren();
    choice.value = "";
    const file = input.files[0];
    if (!file) return;
    if (input.files.length > 1) {
      // Several photos of one person: searched together, each by its most prominent face.
      for (const each of input.files) {
        const thumbnail = document.createElement("img");
        thumbnail.alt = "A photo to search with";
        thumbnail.className = "thumbnail";
        thumbnail.src = URL.createObjectURL(each);
        preview.appendChild(thumbnail);
      }
      const most = Number(input.dataset.maxPhotos || 10);
      status.textContent = input.files.length > most
        ? "Choose at most " + most + " photos."
        : input.files.length + " photos of the same person: each photo's most prominent face is searched, as one probe.";
      return;
    }
    const image = document.createElement("img");
    image.alt = "The photo to search with";
    image.src = URL.createObjectURL(file);
    preview.appendChild(image);
    status.textContent = "Looking for faces…";
    const body = new FormData();
    body.append("photo", file);
    let answer;
    try {
      const response = await fetch("/api/v1/detect", {
        method: "POST", body, credentials: "same-origin",
        headers: { "X-CSRF-Token": form.dataset.csrf },
      });
      answer = await response.json();
      if (!response.ok) throw new Error(answer.error ? answer.error.message : response.statusText);
    } catch (error) {
      status.textContent = "Could not read faces: " + error.message;
      return;
    }
    const faces = answer.faces || [];
    if (faces.length === 0) {
      status.textContent = "No face found in this photo.";
      return;
    }
    // Faces are numbered from 1 here as everywhere (the API's face field, lineup detect).
    const boxes = faces.map((face, index) => {
      const box = document.createElement("div");
      box.className = "box pickable";
      box.id = "face-" + (index + 1);
      box.title = "Search with this face";
      box.style.left = (100 * face.box.x / answer.width) + "%";
      box.style.top = (100 * face.box.y / answer.height) + "%";
      box.style.width = (100 * face.box.width / answer.width) + "%";
      box.style.height = (100 * face.box.height / answer.height) + "%";
      const label = document.createElement("span");
      label.textContent = String(index + 1);
      box.appendChild(label);
      box.addEventListener("click", () => pick(index + 1));
      preview.appendChild(box);
      return box;
    });
    function pick(number) {
      choice.value = String(number);
      boxes.forEach((box, index) => box.classList.toggle("picked", index + 1 === number));
      status.textContent = faces.length === 1
        ? "One face found; it will be searched."
        : faces.length + " faces found; face " + number + " will be searched. Click another to change.";
    }
    pick(answer.most_prominent ?? 1);
  });
}
