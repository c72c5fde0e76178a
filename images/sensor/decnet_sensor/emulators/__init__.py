"""decnet's own protocol emulators, one module per catalogue service (`emulators/<service>.py`,
with `SERVICE` and `build(ctx) -> list[Service]`; the context is `emulators.base.EmulatorContext`).
The launcher imports a module only when its service is on the decky."""
