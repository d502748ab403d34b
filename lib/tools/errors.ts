// The failures of `roost pub`, `roost sub` and `roost rr`, each with the exit code Mosquitto's
// tools give for it.

/** mosquitto_pub/sub/rr exit with 1 for a bad command line, and print where help is. */
export const EXIT_USAGE = 1
/** MOSQ_ERR_CONN_LOST: the connection went away before the work was done. */
export const EXIT_CONNECTION_LOST = 7
/** MOSQ_ERR_TIMEOUT: -W ran out before the messages came. */
export const EXIT_TIMEOUT = 27

/** A bad command line: the message is printed, then a pointer to --help; exit code 1. */
export class ToolUsageError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'ToolUsageError'
  }
}

/** A failure after the command line was read, with the exit code it ends the tool with. */
export class ToolFailure extends Error {
  constructor (message: string, readonly exitCode: number) {
    super(message)
    this.name = 'ToolFailure'
  }
}
