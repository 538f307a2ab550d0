// snippet.hide
/* global document, fetch, axios */
async function examples() {
// snippet.show
// snippet.fetch
// fetch: copy the readable XSRF-TOKEN cookie into the X-CSRF-Token header.
const token = decodeURIComponent(document.cookie.match(/(?:^|; )XSRF-TOKEN=([^;]*)/)[1]);
await fetch("/counter", { method: "POST", headers: { "X-CSRF-Token": token } });
// snippet.end

// snippet.axios
// Axios (and Angular's HttpClient) copy the XSRF-TOKEN cookie into X-XSRF-TOKEN by themselves
// on same-origin requests: nothing to write.
await axios.post("/counter");
// snippet.end
// snippet.hide
}
