// The parts of node-red-node-test-helper the specs use (the package ships no types).
declare module 'node-red-node-test-helper' {
  interface HelperNode {
    id: string
    on: (event: string, listener: (...args: any[]) => void) => void
    receive: (msg: Record<string, unknown>) => void
    [key: string]: any
  }
  const helper: {
    init: (runtimePath: string, settings?: Record<string, unknown>) => void
    /** Runtime settings (RED.settings) for the next load, merged over the defaults. */
    settings: (settings: Record<string, unknown>) => Record<string, unknown>
    load: (nodes: unknown, flow: unknown[], credentials?: Record<string, unknown>) => Promise<void>
    unload: () => Promise<void>
    getNode: (id: string) => HelperNode
    startServer: (done: () => void) => void
    stopServer: (done: () => void) => void
    clearFlows: () => Promise<void>
    setFlows: (flow: unknown[], type?: string, credentials?: Record<string, unknown>) => Promise<void>
    log: () => { args: unknown[][] }
    /** A supertest agent on the admin HTTP app (RED.httpAdmin). */
    request: () => {
      get: (path: string) => { expect: (status: number) => Promise<{ status: number, body: unknown }> }
      post: (path: string) => { send: (body: unknown) => { expect: (status: number, body?: unknown) => Promise<{ status: number, body: unknown }> } }
    }
    /** http://127.0.0.1:<port> of the server startServer() opened. */
    url: () => string
    _redNodes: any
  }
  export default helper
}
