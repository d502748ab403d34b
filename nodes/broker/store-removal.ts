// Deleting an embedded roost-broker node in the editor asks whether its disk store goes too; keep
// is the default. A "remove" reaches this admin endpoint (guarded by roost.write: only someone who
// may deploy flows may have the runtime delete files) and waits here until the next deploy stops
// the node with removed === true. Only then is `<userDir>/roost/<node id>/` removed, nothing else.
import { rm } from 'node:fs/promises'
import path from 'node:path'
import type { AdminResponse, RedApi } from '../shared/red'

export const STORE_REMOVAL_PATH = '/roost/store-removal'

/** Ids of running broker nodes whose store goes when a deploy removes them. */
const marked = new Set<string>()

/**
 * Node-RED's node ids are letters, digits, '.', '_' and '-'; an id that is empty, '.' or '..', or
 * has a separator would name a directory other than the node's own.
 */
function safeNodeId (id: unknown): id is string {
  return typeof id === 'string' && /^[A-Za-z0-9._-]{1,128}$/.test(id) && id !== '.' && id !== '..'
}

/** `<userDir>/roost/<broker node id>`: where an embedded broker keeps its state; undefined without a userDir or a safe id. */
export function storeDirectory (RED: RedApi, id: string): string | undefined {
  const userDir = RED.settings?.userDir
  if (typeof userDir !== 'string' || userDir === '' || !safeNodeId(id)) return undefined
  return path.join(userDir, 'roost', id)
}

/** Whether the store of node `id` is marked to go with the node (for tests). */
export function storeRemovalMarked (id: string): boolean { return marked.has(id) }

/**
 * Called from the broker node's close handler once its store is closed: removes the node's own
 * store directory when the deploy removed the node and the editor asked for it. Any close clears
 * the mark, so a deletion undone before the deploy keeps the data. Resolves to the removed
 * directory, or undefined when nothing was removed.
 */
export async function removeStoreIfMarked (RED: RedApi, id: string, removed: boolean): Promise<string | undefined> {
  const wanted = marked.delete(id)
  if (!removed || !wanted) return undefined
  const directory = storeDirectory(RED, id)
  if (directory === undefined) return undefined
  await rm(directory, { recursive: true, force: true })
  return directory
}

export function registerStoreRemoval (RED: RedApi): void {
  const admin = RED.httpAdmin
  const auth = RED.auth
  // Without an admin server (httpAdminRoot: false) there is no editor to ask.
  if (admin === undefined || auth === undefined) return
  admin.post(STORE_REMOVAL_PATH, auth.needsPermission('roost.write'), (request, response: AdminResponse) => {
    const body = (request as { body?: unknown }).body
    const { id, remove } = typeof body === 'object' && body !== null ? body as { id?: unknown, remove?: unknown } : {}
    if (!safeNodeId(id) || typeof remove !== 'boolean') {
      response.status(400).json({ error: 'expected { id: a node id, remove: true or false }' })
      return
    }
    const node = RED.nodes.getNode(id) as { type?: string } | null
    if (node?.type !== 'roost-broker') {
      response.status(404).json({ error: `no roost-broker node ${id} runs here` })
      return
    }
    if (remove) marked.add(id)
    else marked.delete(id)
    response.json({ id, remove })
  })
}
