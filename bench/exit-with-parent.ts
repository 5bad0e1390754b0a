/**
 * Preloaded (`--import`) into the gateway process by bench/run.ts: the gateway exits when
 * the bench runner's IPC channel closes, so even a runner killed with SIGKILL leaves no
 * gateway behind. It does nothing on the request path.
 */
if (process.channel) {
  process.channel.unref()
  process.on('disconnect', () => process.exit(0))
}
export {}
