/** Waits until a session enables the event for this app, polling its status byte every 5 ms. */
export async function waitEnabled(
  ev: { readonly enabled: boolean; readonly fullName: string },
  ms: number,
): Promise<void> {
  const until = Date.now() + ms;
  while (!ev.enabled) {
    if (Date.now() > until) throw new Error(`${ev.fullName} not enabled ${ms} ms after registration`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
