// Reads a store directory back into memory at open(): the newest snapshot, then every log from its
// sequence on, in order. A torn record at the end of a file (a write a crash cut short) is dropped
// and the file truncated there; damaged bytes in the middle are reported with file and offset and
// skipped, and every valid record around them is kept. Nothing here refuses to start.
import { readFileSync, statSync, truncateSync, unlinkSync } from 'node:fs'
import type { Logger } from '../logger'
import type { Origin } from '../types'
import { FieldReader, readFrames } from './frame'
import type { StoreImage } from './image'
import type { StoreFiles } from './files'
import { decodeRecord } from './record-codec'

export interface Recovery {
  /** The sequence of the newest file read; the store's next log takes the one after. */
  lastSeq: number
  /** Bytes of the snapshot read and of the logs read after it. */
  snapshotBytes: number
  logBytes: number
  /** Files read. */
  files: number
  /** Damage was found in the middle of a file: compaction should rewrite the store soon. */
  damaged: boolean
}

export function recoverStore (files: StoreFiles, image: StoreImage, logger: Logger): Recovery {
  for (const leftover of files.temporaries()) unlinkSync(leftover)
  const found = files.list()
  let newestSnapshot = -1
  for (const file of found) if (file.kind === 'snap') newestSnapshot = file.seq
  const origins = new Map<string, Origin>()
  const recovery: Recovery = { lastSeq: 0, snapshotBytes: 0, logBytes: 0, files: 0, damaged: false }
  for (const file of found) {
    recovery.lastSeq = Math.max(recovery.lastSeq, file.seq)
    // Snapshots older than the newest, and logs before it, were folded into it.
    if (file.seq < newestSnapshot || (file.kind === 'snap' && file.seq !== newestSnapshot)) continue
    const bytes = readFileSync(file.path)
    recovery.files++
    let corrupt = 0
    const reader = new FieldReader(bytes, 0, 0)
    const validEnd = readFrames(bytes, (start, end) => {
      try {
        decodeRecord(reader.reset(start, end), image, origins)
      } catch (error) {
        corrupt++
        logger.warning(`Store file ${file.path}: record at offset ${start} could not be read (${(error as Error).message}); skipped.`)
      }
    }, (damage) => {
      if (damage.tail) {
        logger.warning(`Store file ${file.path}: dropped ${damage.bytes} bytes of an incomplete record at offset ${damage.offset} (a write cut short).`)
      } else {
        corrupt++
        logger.error(`Store file ${file.path}: ${damage.bytes} damaged bytes at offset ${damage.offset} skipped; the records around them are kept.`)
      }
    })
    if (validEnd < bytes.length) truncateSync(file.path, validEnd)
    if (corrupt > 0) recovery.damaged = true
    if (file.kind === 'snap') recovery.snapshotBytes += validEnd
    else recovery.logBytes += validEnd
  }
  image.sweepAll()
  if (image.counts.orphanRecords > 0) {
    logger.warning(`Store ${files.directory}: ${image.counts.orphanRecords} records referred to sessions or messages lost to damage; they were left out.`)
  }
  return recovery
}

/** Bytes a file holds now, 0 when it is gone. */
export function fileBytes (filePath: string): number {
  try {
    return statSync(filePath).size
  } catch {
    return 0
  }
}
