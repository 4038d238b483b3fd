/**
 * Every exported symbol of the public entry points (typedoc.json's
 * lib/index.ts and operators/index.ts) has TSDoc with a summary and an
 * `@example`, and the API reference builds without warnings, as `npm run docs`
 * requires. typedoc runs in-process on the repo's own typedoc.json; nothing is
 * written to disk.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { fileURLToPath } from 'node:url'
import { Application, Comment, Logger, LogLevel, ReflectionKind, type DeclarationReflection, type ProjectReflection } from 'typedoc'

const root = fileURLToPath(new URL('../..', import.meta.url))

/** Keeps every warning and error typedoc reports, and prints nothing. */
class CollectingLogger extends Logger {
  readonly messages: string[] = []
  override log(message: string, level: LogLevel): void {
    super.log(message, level)
    if (level >= LogLevel.Warn) this.messages.push(message)
  }
}

interface Converted {
  readonly project: ProjectReflection
  readonly conversionMessages: readonly string[]
  readonly validationMessages: readonly string[]
}

// One conversion (~5 s) shared by both tests.
let converted: Promise<Converted> | undefined
function convert(): Promise<Converted> {
  converted ??= (async () => {
    const cwd = process.cwd()
    process.chdir(root) // typedoc.json's paths are relative to the repo
    try {
      // Only this override: a warning must not stop the conversion, so the
      // tests can list every problem instead of typedoc's first refusal.
      const app = await Application.bootstrapWithPlugins({ treatWarningsAsErrors: false })
      const logger = new CollectingLogger()
      app.logger = logger
      const project = await app.convert()
      assert.ok(project, `typedoc could not convert the entry points:\n${logger.messages.join('\n')}`)
      const conversionMessages = [...logger.messages]
      app.validate(project)
      return { project, conversionMessages, validationMessages: logger.messages.slice(conversionMessages.length) }
    } finally {
      process.chdir(cwd)
    }
  })()
  return converted
}

/** Top-level exports of each entry point (the modules typedoc documents). */
function exportedSymbols(project: ProjectReflection): DeclarationReflection[] {
  const modules = project.children ?? []
  assert.ok(modules.length >= 2, 'typedoc found both entry points')
  return modules.flatMap((m) => m.children ?? [])
}

/** The comments a reader sees: a function's are on its signatures. */
function shownComments(symbol: DeclarationReflection): (Comment | undefined)[] {
  return symbol.kindOf(ReflectionKind.Function) && symbol.signatures?.length
    ? symbol.signatures.map((s) => s.comment ?? symbol.comment)
    : [symbol.comment]
}

function lacks(comment: Comment | undefined): string[] {
  const missing: string[] = []
  if (Comment.combineDisplayParts(comment?.summary).trim() === '') missing.push('no summary')
  const examples = comment?.blockTags.filter((t) => t.tag === '@example') ?? []
  if (!examples.some((t) => Comment.combineDisplayParts(t.content).trim() !== '')) missing.push('no @example')
  // typedoc fences an example that has no code block of its own, so an
  // inline `code` example would show its backticks on the page.
  if (examples.some((t) => /^```\w*\n`/.test(Comment.combineDisplayParts(t.content)))) missing.push('an inline `...` @example (write a fenced ```ts block)')
  return missing
}

test('every exported symbol has a TSDoc summary and an @example', { timeout: 60_000 }, async () => {
  const { project } = await convert()
  const symbols = exportedSymbols(project)
  assert.ok(symbols.length > 50, `expected the whole public API, found ${symbols.length} symbols`)
  const missing = symbols.flatMap((symbol) => {
    const gaps = [...new Set(shownComments(symbol).flatMap(lacks))]
    if (gaps.length === 0) return []
    const file = project.getSymbolIdFromReflection(symbol)?.packagePath ?? '?'
    return [`${symbol.parent?.name}.${symbol.name} (${ReflectionKind.singularString(symbol.kind)}, ${file}): ${gaps.join('; ')}`]
  })
  if (missing.length > 0) assert.fail(`${missing.length} exported symbols lack documentation:\n  ${missing.join('\n  ')}`)
})

test('the API reference builds without warnings (npm run docs)', { timeout: 60_000 }, async () => {
  const { conversionMessages, validationMessages } = await convert()
  const all = [...conversionMessages, ...validationMessages]
  if (all.length > 0) assert.fail(`typedoc reported ${all.length} warnings:\n  ${all.join('\n  ')}`)
})
