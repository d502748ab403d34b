// @nats-io/transport-node re-exports '@nats-io/nats-core/internal', a path only that package's
// "exports" map names; this project's TypeScript module resolution ("node") does not read such
// maps, so the path is declared here as the file it stands for. Types only: Node resolves it itself.
declare module '@nats-io/nats-core/internal' {
  export * from '@nats-io/nats-core/lib/internal_mod'
}
