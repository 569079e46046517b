/*
 * The audible fail: three short square-wave beeps through WebAudio, loud enough to be heard over a
 * line. Browsers only let a page make sound after a user gesture, so the context is created (or
 * resumed) from the click that starts the station, and the beep is silent until then.
 */

let context: AudioContext | null = null;

/** Call from a click or key handler: allows later beeps. */
export function primeAudio(): void {
  try {
    const Ctx = globalThis.AudioContext ?? (globalThis as { webkitAudioContext?: typeof AudioContext }).webkitAudioContext;
    if (!Ctx) return;
    context ??= new Ctx();
    if (context.state === 'suspended') void context.resume().catch(() => {});
  } catch {
    context = null; // no audio device: the screen still says FAIL
  }
}

/** Three descending beeps, about 0.6 s in all. */
export function failBeep(): void {
  const ctx = context;
  if (!ctx || ctx.state !== 'running') return;
  const start = ctx.currentTime + 0.01;
  [880, 660, 440].forEach((hz, i) => {
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    osc.type = 'square';
    osc.frequency.value = hz;
    const t = start + i * 0.2;
    // Short ramps avoid clicks at the edges.
    gain.gain.setValueAtTime(0, t);
    gain.gain.linearRampToValueAtTime(0.2, t + 0.01);
    gain.gain.setValueAtTime(0.2, t + 0.14);
    gain.gain.linearRampToValueAtTime(0, t + 0.16);
    osc.connect(gain).connect(ctx.destination);
    osc.start(t);
    osc.stop(t + 0.17);
  });
}
