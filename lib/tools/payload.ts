// The message of `roost pub` and `roost rr` from -m, -f, -s or -n, read before connecting so that
// a file that cannot be read costs no connection.
import { readFileSync } from 'node:fs'
import type { ToolConfig } from './args'
import type { ToolStreams } from './connect'
import { ToolFailure } from './errors'

async function readAll (stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk)
  return Buffer.concat(chunks)
}

/** The one message of -m, -f, -s or -n, read before connecting so a bad file costs no connection. */
export async function singlePayload (config: ToolConfig, streams: ToolStreams): Promise<Buffer> {
  switch (config.messageMode) {
    case 'message': return Buffer.from(config.message ?? '', 'utf8')
    case 'file':
      try {
        return readFileSync(config.file ?? '')
      } catch {
        throw new ToolFailure(`Error loading input file "${config.file ?? ''}".`, 1)
      }
    case 'stdin-file': return await readAll(streams.stdin)
    default: return Buffer.alloc(0)
  }
}
