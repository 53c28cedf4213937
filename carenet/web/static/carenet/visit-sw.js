/* carenet — service worker of the phone app for home visits, served as /m/sw.js (scope /m/).
 *
 * It keeps the app shell (/m/, which holds no personal data) and its static files, so the page opens with
 * no signal. The shell is network-first (a fresh copy whenever the server answers, the kept one otherwise);
 * static files are cache-first (their content is part of the cache version). API responses, the device
 * key and anything else are never cached: children's data lives only in the page's encrypted IndexedDB.
 *
 * CARENET_SW = {version, shell, assets} is prepended by the view that serves this file.
 */
/* global CARENET_SW */
"use strict";

var CACHE_NAME = "carenet-visit-shell-" + CARENET_SW.version;

self.addEventListener("install", function (event) {
  event.waitUntil(
    caches.open(CACHE_NAME).then(function (cache) {
      // The shell is fetched with the user's cookies; a redirect (signed out) is not kept.
      var shell = fetch(CARENET_SW.shell, { credentials: "same-origin", redirect: "manual" }).then(function (r) {
        if (r.ok && r.status === 200 && r.type === "basic") return cache.put(CARENET_SW.shell, r);
      }).catch(function () {});
      return Promise.all([cache.addAll(CARENET_SW.assets), shell]);
    }).then(function () { return self.skipWaiting(); })
  );
});

self.addEventListener("activate", function (event) {
  event.waitUntil(
    caches.keys().then(function (names) {
      return Promise.all(names.filter(function (n) {
        return n.indexOf("carenet-visit-shell-") === 0 && n !== CACHE_NAME;
      }).map(function (n) { return caches.delete(n); }));
    }).then(function () { return self.clients.claim(); })
  );
});

function isShell(url) {
  return url.origin === self.location.origin && url.pathname === CARENET_SW.shell;
}

function isAsset(url) {
  return url.origin === self.location.origin && CARENET_SW.assets.indexOf(url.pathname) >= 0;
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") return; // posts (visits) go straight to the network
  var url = new URL(request.url);
  if (isShell(url) && request.mode === "navigate") {
    event.respondWith(
      fetch(request).then(function (response) {
        if (response.ok && response.status === 200 && response.type === "basic" && !response.redirected) {
          var copy = response.clone();
          caches.open(CACHE_NAME).then(function (cache) { cache.put(CARENET_SW.shell, copy); });
        }
        return response;
      }).catch(function () {
        return caches.match(CARENET_SW.shell, { ignoreSearch: true }).then(function (kept) {
          return kept || Response.error();
        });
      })
    );
    return;
  }
  if (isAsset(url)) {
    event.respondWith(
      caches.match(request, { ignoreSearch: true }).then(function (kept) { return kept || fetch(request); })
    );
  }
  // Everything else (the API, /m/key/, other pages) is left to the network, never cached.
});
