// The small part of Node-RED's runtime API the nodes use, typed here so the glue stays strict
// without a dependency on Node-RED's own (untyped) packages.

import type { Server } from 'node:http'

export interface NodeStatus {
  fill?: 'red' | 'green' | 'yellow' | 'blue' | 'grey'
  shape?: 'ring' | 'dot'
  text?: string
}

export type NodeMessage = Record<string, unknown> & { _msgid?: string }

export type SendFunction = (msg: NodeMessage | Array<NodeMessage | null> | null) => void
export type DoneFunction = (error?: Error) => void

/** What RED.nodes.createNode() turns `this` into. */
export interface RedNode {
  id: string
  name?: string
  credentials?: Record<string, string | undefined>
  status: (status: NodeStatus | Record<string, never>) => void
  send: SendFunction
  log: (message: string) => void
  warn: (message: string) => void
  error: (error: string | Error, msg?: NodeMessage) => void
  on: ((event: 'input', handler: (msg: NodeMessage, send: SendFunction, done: DoneFunction) => void) => void) &
  ((event: 'close', handler: (removed: boolean, done: () => void) => void) => void)
}

/** The tls-config node's runtime face. */
export interface TlsConfigNode {
  addTLSOptions: (options: Record<string, unknown>) => void
}

export interface RedApi {
  nodes: {
    createNode: (node: object, config: object) => void
    registerType: (type: string, constructor: (this: never, config: never) => void, options?: { credentials?: Record<string, { type: 'text' | 'password' }> }) => void
    getNode: (id: string) => unknown
  }
  _: (key: string, substitutions?: Record<string, unknown>) => string
  /** The runtime's settings (absent in some test runtimes). */
  settings?: {
    /** Where Node-RED keeps its files. */
    userDir?: unknown
    /** Where Node-RED serves the flows' HTTP endpoints and websocket paths. */
    httpNodeRoot?: string | false
  }
  /** The editor's HTTP server (absent when Node-RED runs without the editor). */
  httpAdmin?: {
    get: (path: string, ...handlers: Array<(request: unknown, response: { json: (body: unknown) => void }, next: () => void) => void>) => void
    post: (path: string, ...handlers: Array<(request: unknown, response: AdminResponse, next: () => void) => void>) => void
  }
  /** The runtime's events (flows:stopping, flows:started); absent in some test runtimes. */
  events?: {
    on: (event: string, listener: (payload: unknown) => void) => void
    off: (event: string, listener: (payload: unknown) => void) => void
  }
  /** Node-RED's channel to every open editor (absent in some test runtimes). */
  comms?: {
    publish: (topic: string, data: unknown, retain: boolean) => void
  }
  /** Node-RED's HTTP (or HTTPS) server; absent when Node-RED runs without one. */
  server?: Server
  auth?: {
    needsPermission: (permission: string) => (request: unknown, response: { json: (body: unknown) => void }, next: () => void) => void
  }
}

/** The part of an Express response the admin endpoints answer with. */
export interface AdminResponse {
  json: (body: unknown) => void
  status: (code: number) => { json: (body: unknown) => void }
}
