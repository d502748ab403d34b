export function main (_argv: string[]): void { throw new Error("not yet") }
