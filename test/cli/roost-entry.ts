// Runs the roost command from its TypeScript source, so the command-line tests need no build.
import { main } from '../../lib/cli'

main(process.argv.slice(2))
