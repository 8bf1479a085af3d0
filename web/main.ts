/**
 * The live app's entry: loads the model generated into the page and the runtime config beside
 * it, signs the viewer in when the config asks for it, subscribes to the push channel, then
 * reads the snapshot (after subscribing, so no change falls between the two), and keeps both
 * going: every push applied as it arrives, the snapshot read again on every reconnect, when the
 * tab comes back and every few minutes (which also refreshes the alarm states).
 */
import { DEFAULT_RANGE, type LiveConfig, type LiveModel, type LivePart, type Snapshot, SNAPSHOT_RANGES, type SnapshotRange, snapshotWindow } from "../catalog/live";
import { SignIn } from "./auth";
import { LiveChannel } from "./live";
import { PartStore } from "./store";
import { LiveView, type Window } from "./view";

const REFRESH_MS = 5 * 60_000;
const RANGE_KEY = "live.range";

async function boot(): Promise<void> {
  const model = JSON.parse(document.getElementById("model")?.textContent ?? "null") as LiveModel;
  const configResponse = await fetch("config.json", { cache: "no-store" });
  if (!configResponse.ok) throw new Error(`config.json: ${configResponse.status} ${configResponse.statusText}`);
  const config = (await configResponse.json()) as LiveConfig;

  const view = new LiveView(model, document.body);
  let signIn: SignIn | undefined;
  if (config.auth !== undefined) {
    signIn = new SignIn(config.auth);
    const s = signIn;
    view.signOut.hidden = false;
    view.signOut.addEventListener("click", () => s.signOut());
    if (!(await s.complete())) {
      view.setStatus("signed-out", "Signing in…");
      await s.start();
      return;
    }
  }

  const store = new PartStore();
  const bucketMs = model.bucketSeconds * 1000;
  const stored = localStorage.getItem(RANGE_KEY);
  let range: SnapshotRange = stored !== null && stored in SNAPSHOT_RANGES ? (stored as SnapshotRange) : DEFAULT_RANGE;
  /** The server's clock minus this browser's, from the last snapshot: the window follows the table's time. */
  let skewMs = 0;
  let frame = 0;

  const windowNow = (): Window => {
    const w = snapshotWindow(range, Date.now() + skewMs, model.bucketSeconds);
    return { fromMs: w.fromMs, lastMs: w.lastMs, bucketMs };
  };
  const render = () => {
    frame = 0;
    const w = windowNow();
    store.forgetBefore(w.fromMs);
    view.render(store, w);
  };
  const schedule = () => {
    if (frame === 0) frame = requestAnimationFrame(render);
  };

  let loading: Promise<void> | undefined;
  let again = false;
  /** The pushes that arrive while a snapshot is read: applied on top of it, since it may not hold them. */
  let pushedDuringRead: (readonly LivePart[])[] | undefined;
  /** A failed read is tried again, sooner at first: the page must not stay behind until the next refresh. */
  let failures = 0;
  let retry: ReturnType<typeof setTimeout> | undefined;
  const refresh = async (): Promise<void> => {
    // One read at a time; a request made meanwhile reads once more after it.
    if (loading !== undefined) {
      again = true;
      return loading;
    }
    loading = (async () => {
      do {
        again = false;
        const asked = range;
        const token = await signIn?.idToken();
        if (signIn !== undefined && token === undefined) {
          await signIn.start();
          return;
        }
        const url = new URL(config.snapshotUrl, location.href);
        url.searchParams.set("range", asked);
        const sentAt = Date.now();
        pushedDuringRead = [];
        const response = await fetch(url, { cache: "no-store", headers: token === undefined ? {} : { authorization: `Bearer ${token}` } });
        if (response.status === 401 && signIn !== undefined) {
          await signIn.start();
          return;
        }
        if (!response.ok) {
          const body = (await response.json().catch(() => ({}))) as { error?: string; message?: string };
          const waitS = Number(response.headers.get("retry-after"));
          throw Object.assign(new Error(`the snapshot failed: ${response.status} ${body.error ?? body.message ?? response.statusText}`), { retryAfterMs: Number.isFinite(waitS) && waitS > 0 ? waitS * 1000 : undefined });
        }
        const snapshot = (await response.json()) as Snapshot;
        if (asked !== range) continue;
        skewMs = Date.parse(snapshot.readAt) - (sentAt + Date.now()) / 2;
        // The snapshot is the table as it was read: it replaces what is held (a part pushed with a
        // mark the table never had can't stick), and the pushes that came meanwhile go on top.
        store.reset(snapshot.parts);
        for (const parts of pushedDuringRead) store.apply(parts);
        pushedDuringRead = undefined;
        failures = 0;
        view.showAlarms(snapshot.alarms);
        view.updated.textContent = `Read ${new Date(snapshot.readAt).toLocaleTimeString()}.`;
        view.say(undefined);
        document.body.dataset.snapshots = String(Number(document.body.dataset.snapshots ?? 0) + 1);
        schedule();
      } while (again);
    })()
      .catch((error: unknown) => {
        failures++;
        const waitMs = (error as { retryAfterMs?: number }).retryAfterMs ?? Math.min(60_000, 1_000 * 2 ** failures) * (0.75 + Math.random() * 0.5);
        view.say(`${String((error as Error).message ?? error)}; trying again in ${Math.round(waitMs / 1000)} s`);
        clearTimeout(retry);
        retry = setTimeout(() => void refresh(), waitMs);
      })
      .finally(() => {
        loading = undefined;
        pushedDuringRead = undefined;
      });
    return loading;
  };

  view.setRange(range);
  for (const b of view.rangeButtons) {
    b.addEventListener("click", () => {
      const next = b.dataset.range as SnapshotRange;
      if (next === range) return;
      range = next;
      localStorage.setItem(RANGE_KEY, range);
      view.setRange(range);
      schedule();
      void refresh();
    });
  }

  const words = { connecting: "Connecting…", live: "Live", reconnecting: "Reconnecting…" } as const;
  const channel = new LiveChannel({
    realtimeUrl: config.events.realtimeUrl,
    httpHost: config.events.httpHost,
    channel: config.events.channel,
    token: signIn === undefined ? undefined : () => signIn.idToken(),
    onEvent: (event) => {
      pushedDuringRead?.push(event.parts);
      if (store.apply(event.parts) > 0) schedule();
      document.body.dataset.pushes = String(Number(document.body.dataset.pushes ?? 0) + 1);
    },
    // Whatever was pushed while the channel was down is read back from the table.
    onSubscribed: () => void refresh(),
    onState: (state, detail) => {
      view.setStatus(state, words[state]);
      view.status.title = detail ?? "";
    },
    onUnauthorized: () => void signIn?.start(),
  });
  channel.start();
  render();

  // The window moves at every bucket boundary, whether or not anything arrives.
  const tick = () => {
    schedule();
    setTimeout(tick, bucketMs - ((Date.now() + skewMs) % bucketMs) + 50);
  };
  setTimeout(tick, bucketMs - ((Date.now() + skewMs) % bucketMs) + 50);
  setInterval(() => void refresh(), REFRESH_MS);
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") void refresh();
  });
  addEventListener("resize", schedule);
}

boot().catch((error: unknown) => {
  document.body.dataset.status = "error";
  const p = document.createElement("p");
  p.className = "message";
  p.textContent = `The live app could not start: ${String((error as Error).message ?? error)}`;
  document.body.prepend(p);
});
