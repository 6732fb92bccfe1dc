// perfmon's in-page collector, injected before any page script runs (add_init_script).
// Web Vitals follow the semantics of Google's web-vitals library:
//  LCP  last largest-contentful-paint candidate before the first input or the page is hidden
//  FCP  first-contentful-paint
//  CLS  largest session window: shifts < 1 s apart, window <= 5 s, shifts after recent input excluded
//  INP  over Event Timing entries grouped by interactionId (longest entry per interaction):
//       the worst for <= 50 interactions, above that roughly the 98th percentile
//  TTFB responseStart of the navigation
// All times are relative to activationStart (prerendered pages) and never negative.
// Soft navigations (an SPA's pushState/replaceState/back to another path) do not start a new
// visit: as web-vitals does by default, the numbers stay with the document, which is labelled
// by the URL it was loaded at; the route changes since are counted.
(() => {
  if (window.__perfmon) return;
  let docId = Math.random().toString(36).slice(2) + Date.now().toString(36);
  let landing = location.href;
  let restoredAt = null;  // ms since timeOrigin of the last restore from the back-forward cache
  const route = () => location.pathname + location.search;
  let lastRoute = route();
  let softNavigations = 0;
  if (window.navigation && window.navigation.addEventListener) {
    // Same-document navigations; a change of the #fragment alone is not a route.
    window.navigation.addEventListener("currententrychange", () => {
      if (route() !== lastRoute) { lastRoute = route(); softNavigations += 1; }
    });
  }
  const nav = () => performance.getEntriesByType("navigation")[0];
  const activation = () => (nav() && nav().activationStart) || 0;
  const rel = (t) => Math.max(0, t - activation());
  const st = {
    lcp: null, lcpStopped: false, fcp: null,
    cls: 0, win: 0, winStart: 0, winLast: 0,
    interactions: new Map(), interactionCount: 0, inputs: [], frames: [],
    longTasks: 0, tbt: 0, reported: false,
  };
  const observe = (type, cb, extra) => {
    try {
      const po = new PerformanceObserver((list) => list.getEntries().forEach(cb));
      po.observe(Object.assign({ type: type, buffered: true }, extra || {}));
      return po;
    } catch (e) { return null; }
  };
  observe("paint", (e) => { if (e.name === "first-contentful-paint") st.fcp = rel(e.startTime); });
  const lcpObserver = observe("largest-contentful-paint", (e) => { if (!st.lcpStopped) st.lcp = rel(e.startTime); });
  const stopLcp = () => {
    if (st.lcpStopped) return;
    if (lcpObserver) lcpObserver.takeRecords().forEach((e) => { st.lcp = rel(e.startTime); });
    st.lcpStopped = true;
  };
  ["keydown", "click", "pointerdown"].forEach((t) => addEventListener(t, stopLcp, { once: true, capture: true }));
  observe("layout-shift", (e) => {
    if (e.hadRecentInput) return;
    if (st.win && e.startTime - st.winLast < 1000 && e.startTime - st.winStart < 5000) {
      st.win += e.value;
    } else {
      st.win = e.value;
      st.winStart = e.startTime;
    }
    st.winLast = e.startTime;
    if (st.win > st.cls) st.cls = st.win;
  });
  // first-input is always reported, whatever its duration, so a page whose interactions were all
  // fast still gets an INP (web-vitals does the same); it shares its interactionId with its event.
  const onEvent = (e) => {
    const id = e.interactionId || (e.entryType === "first-input" ? "first-input" : 0);
    if (!id || (restoredAt !== null && e.startTime < restoredAt)) return;
    const prev = st.interactions.get(id);
    if (prev === undefined) st.interactionCount += 1;
    if (prev === undefined || e.duration > prev.duration) {
      st.interactions.set(id, { duration: e.duration, start: e.startTime, name: e.name });
    }
  };
  // Input the page received, trusted (Playwright's, a person's) or not (element.click() from page
  // JavaScript, which Event Timing never reports): a step with only the latter has no INP to show.
  ["click", "keydown", "pointerdown"].forEach((t) => addEventListener(t, (e) => {
    if (st.inputs.length < 200) st.inputs.push({ t: performance.timeOrigin + e.timeStamp, trusted: e.isTrusted });
  }, { capture: true }));
  observe("long-animation-frame", (e) => {
    st.frames.push({
      start: e.startTime, end: e.startTime + e.duration, blocking: e.blockingDuration || 0,
      scripts: (e.scripts || []).map((x) => ({
        invoker: x.invoker, url: x.sourceURL, fn: x.sourceFunctionName, duration: x.duration,
      })),
    });
    if (st.frames.length > 100) st.frames.shift();
  });
  const eventObservers = [
    observe("event", onEvent, { durationThreshold: 16 }),
    observe("first-input", onEvent),
  ];
  observe("longtask", (e) => { st.longTasks += 1; st.tbt += Math.max(0, e.duration - 50); });

  const inpEntry = () => {
    const all = Array.from(st.interactions.values()).sort((a, b) => b.duration - a.duration);
    if (!all.length) return null;
    const count = restoredAt === null ? (performance.interactionCount || st.interactionCount) : st.interactionCount;
    return all[Math.min(all.length - 1, Math.floor(count / 50))];
  };
  // The long animation frames the INP interaction overlapped, worst blocking first, with the
  // scripts that ran in them (web-vitals' INP attribution reads the same entries).
  const inpAttribution = (entry) => {
    if (!entry) return null;
    const end = entry.start + entry.duration;
    const frames = st.frames.filter((f) => f.start < end && f.end > entry.start)
      .sort((a, b) => b.blocking - a.blocking);
    const scripts = [].concat(...frames.map((f) => f.scripts)).sort((a, b) => b.duration - a.duration).slice(0, 3);
    return { name: entry.name, duration: entry.duration, at: performance.timeOrigin + entry.start,
             blocking: frames.reduce((sum, f) => sum + f.blocking, 0), scripts: scripts };
  };
  const navigation = () => {
    const n = nav();
    if (!n) return null;
    const res = performance.getEntriesByType("resource");
    const slow = res.slice().sort((a, b) => b.duration - a.duration).slice(0, 5)
      .map((r) => ({ name: r.name, duration: r.duration, transferSize: r.transferSize, initiatorType: r.initiatorType }));
    return {
      redirect: n.redirectEnd - n.redirectStart,
      dns: n.domainLookupEnd - n.domainLookupStart,
      connect: n.connectEnd - n.connectStart,
      tls: n.secureConnectionStart > 0 ? n.connectEnd - n.secureConnectionStart : 0,
      ttfb: rel(n.responseStart),
      download: n.responseEnd - n.responseStart,
      dom_content_loaded: rel(n.domContentLoadedEventEnd),
      load: rel(n.loadEventEnd),
      transfer_size: n.transferSize,
      resources: { count: res.length, bytes: res.reduce((s, r) => s + (r.transferSize || 0), 0), slowest: slow },
    };
  };
  // web-vitals' navigation types: navigate, reload, back-forward, back-forward-cache, prerender.
  const navigationType = () => {
    if (restoredAt !== null) return "back-forward-cache";
    if (document.prerendering || activation() > 0) return "prerender";
    const n = nav();
    return n ? n.type.replace(/_/g, "-") : "navigate";
  };
  const finalize = () => {
    stopLcp();
    // Entries not yet delivered to the callbacks (the last interaction's, typically).
    eventObservers.forEach((po) => { if (po) po.takeRecords().forEach(onEvent); });
    const n = nav();
    const worst = inpEntry();
    const restored = restoredAt !== null;
    return {
      docId: docId,
      // Epoch ms: when the visit started (activation, for a prerendered page) and when it was read,
      // so each number can be matched with the client's state over its own interval.
      origin: performance.timeOrigin + (restored ? restoredAt : activation()),
      ended: performance.timeOrigin + performance.now(),
      url: landing,
      navigationType: navigationType(),
      softNavigations: softNavigations,
      title: document.title,
      // After a restore from the back-forward cache nothing was fetched: TTFB is 0, as web-vitals reports it.
      vitals: { LCP: st.lcp, FCP: st.fcp, CLS: st.cls, INP: worst ? worst.duration : null,
                TTFB: restored ? 0 : (n ? rel(n.responseStart) : null) },
      interactions: Array.from(st.interactions.values()).slice(0, 200)
        .map((i) => ({ at: performance.timeOrigin + i.start, duration: i.duration })),
      inputs: st.inputs.slice(),
      inpAttribution: inpAttribution(worst),
      navigation: restored ? null : navigation(),
      longTasks: st.longTasks,
      tbt: st.tbt,
    };
  };
  // A visit that ends by navigating away is parked in sessionStorage (a binding call made
  // during pagehide is not delivered) and handed over by the next collect() on this origin.
  const PENDING = "__perfmon_pending";
  const takePending = () => {
    try {
      const list = JSON.parse(sessionStorage.getItem(PENDING) || "[]");
      sessionStorage.removeItem(PENDING);
      return list;
    } catch (e) { return []; }
  };
  const park = () => {
    if (st.reported) return;
    st.reported = true;
    try {
      const list = JSON.parse(sessionStorage.getItem(PENDING) || "[]");
      list.push(finalize());
      sessionStorage.setItem(PENDING, JSON.stringify(list));
    } catch (e) { /* storage full or disabled: this visit is lost, the next is not */ }
  };
  addEventListener("pagehide", park, { capture: true });
  // A page restored from the back-forward cache is a new visit of the same document (web-vitals
  // starts its metrics again): FCP and LCP are the time to the first frame after the restore.
  addEventListener("pageshow", (e) => {
    if (!e.persisted) return;
    restoredAt = e.timeStamp;
    docId = Math.random().toString(36).slice(2) + Date.now().toString(36);
    landing = location.href;
    Object.assign(st, { lcp: null, lcpStopped: false, fcp: null, cls: 0, win: 0, winStart: 0, winLast: 0,
                        interactions: new Map(), interactionCount: 0, inputs: [], frames: [], longTasks: 0,
                        tbt: 0, reported: false });
    requestAnimationFrame(() => requestAnimationFrame(() => {
      st.fcp = st.lcp = performance.now() - e.timeStamp;
      st.lcpStopped = true;
    }));
  }, { capture: true });
  // A page that has content but has not painted it yet is still loading (a saturated client
  // can lag seconds behind the DOM): wait for its first contentful paint, at most 10 s, so its
  // LCP and FCP are not ended before they exist.
  const unpainted = () => st.fcp === null && !performance.getEntriesByName("first-contentful-paint").length
    && document.visibilityState === "visible" && !!document.body
    && (document.images.length > 0 || document.body.innerText.trim() !== "");
  // Event Timing entries arrive after the next paint: wait two frames (or 200 ms when hidden)
  // before reading, as web-vitals waits for idle.
  const settle = () => new Promise((resolve) => {
    const started = performance.now();
    let done = false;
    const finish = () => { if (!done) { done = true; resolve(); } };
    const frames = () => {
      requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(finish, 0)));
      setTimeout(finish, 200);
    };
    const waitForPaint = () => {
      if (unpainted() && performance.now() - started < 10000) setTimeout(waitForPaint, 50);
      else frames();
    };
    waitForPaint();
  });
  const collect = async () => {
    await settle();
    const current = st.reported ? null : finalize();
    st.reported = true;
    return { current: current, pending: takePending() };
  };
  window.__perfmon = { finalize: finalize, collect: collect, docId: docId };
})();
