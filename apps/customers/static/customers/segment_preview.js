// Segment admin: "Preview" sends the rule currently in the form to the preview view (GET,
// nothing is saved) and shows the live count and sample in place.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const button = document.getElementById("segment-preview-button");
  const target = document.getElementById("segment-summary");
  if (!button || !target) {
    return;
  }
  button.addEventListener("click", async () => {
    const form = button.closest("form");
    const params = new URLSearchParams();
    for (const [key, value] of new FormData(form).entries()) {
      if (typeof value === "string" && key !== "csrfmiddlewaretoken") {
        params.append(key, value);
      }
    }
    button.disabled = true;
    try {
      const response = await fetch(`${button.dataset.previewUrl}?${params}`, {
        credentials: "same-origin",
      });
      target.innerHTML = await response.text();
    } finally {
      button.disabled = false;
    }
  });
});
