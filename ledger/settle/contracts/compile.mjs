// compile.mjs: compiles src/*.sol with the solc (solcjs) and OpenZeppelin
// versions pinned in package-lock.json, and writes each contract's ABI and
// creation bytecode to artifacts/<Name>.abi and artifacts/<Name>.bin (or to
// the folder given as the first argument: the reproduction test compiles
// into a temporary folder and compares). Settings are fixed here, so the
// same sources always give the same bytes.
import fs from 'node:fs'
import path from 'node:path'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'

const require = createRequire(import.meta.url)
const solc = require('solc')
const here = path.dirname(fileURLToPath(import.meta.url))
const out = path.resolve(process.argv[2] ?? path.join(here, 'artifacts'))
const contracts = ['Settlement', 'TestToken', 'HostileToken']

const sources = {}
for (const name of contracts) {
  const rel = `src/${name}.sol`
  sources[rel] = { content: fs.readFileSync(path.join(here, rel), 'utf8') }
}

const input = {
  language: 'Solidity',
  sources,
  settings: {
    optimizer: { enabled: true, runs: 200 },
    evmVersion: 'cancun',
    metadata: { bytecodeHash: 'none' },
    outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } },
  },
}

// Imports resolve only inside node_modules/@openzeppelin/contracts.
function findImports(p) {
  if (!p.startsWith('@openzeppelin/contracts/') || p.includes('..')) {
    return { error: `import ${p} is outside @openzeppelin/contracts` }
  }
  try {
    return { contents: fs.readFileSync(path.join(here, 'node_modules', p), 'utf8') }
  } catch (e) {
    return { error: `read ${p}: ${e.message} (run npm ci in ledger/settle/contracts)` }
  }
}

const result = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports }))
const errors = (result.errors ?? []).filter((e) => e.severity === 'error')
for (const e of result.errors ?? []) process.stderr.write(e.formattedMessage + '\n')
if (errors.length) process.exit(1)

fs.mkdirSync(out, { recursive: true })
for (const name of contracts) {
  const c = result.contracts[`src/${name}.sol`][name]
  fs.writeFileSync(path.join(out, `${name}.abi`), JSON.stringify(c.abi) + '\n')
  fs.writeFileSync(path.join(out, `${name}.bin`), c.evm.bytecode.object + '\n')
}
process.stderr.write(`solc ${solc.version()}: ${contracts.length} contracts -> ${out}\n`)
