/**
 * The CLI maps its port on the router by default; `--no-port-mapping` and
 * TORRENT_PATRON_PORT_MAPPING=off turn it off (the real mapping through
 * miniupnpd: spec/interop/port-mapping.spec.ts).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { PORT_MAPPING_ENV, portMappingWanted } from '../../cli/args.ts'
import { mappingNews } from '../../cli/port-mapping.ts'
import { help as getHelp } from '../../cli/get.ts'
import { help as seedHelp } from '../../cli/seed.ts'
import { help as streamHelp } from '../../cli/stream.ts'

test('on unless the flag or the environment says off', () => {
  assert.equal(portMappingWanted(undefined, {}), true)
  assert.equal(portMappingWanted(false, {}), true)
  assert.equal(portMappingWanted(true, {}), false)
  for (const v of ['off', 'OFF ', 'false', '0', 'no']) assert.equal(portMappingWanted(undefined, { [PORT_MAPPING_ENV]: v }), false, v)
  assert.equal(portMappingWanted(undefined, { [PORT_MAPPING_ENV]: 'on' }), true)
})

test('get, seed and stream document --no-port-mapping', () => {
  for (const help of [getHelp, seedHelp, streamHelp]) assert.match(help, /--no-port-mapping/)
})

test('the mapping line: once the first attempt is over, again when it changes, never for off or while mapping', () => {
  assert.equal(mappingNews(undefined, 'mapping'), null)
  assert.equal(mappingNews(undefined, 'off'), null)
  assert.equal(mappingNews('mapping', 'natpmp: tcp 198.51.100.65:6881'), 'port mapping: natpmp: tcp 198.51.100.65:6881')
  assert.equal(mappingNews('natpmp: tcp 198.51.100.65:6881', 'natpmp: tcp 198.51.100.65:6881'), null)
  assert.equal(mappingNews('natpmp: tcp 198.51.100.65:6881', 'not mapped (natpmp: no answer from 192.0.2.1)'), 'port mapping: not mapped (natpmp: no answer from 192.0.2.1)')
  assert.equal(mappingNews('upnp: tcp 198.51.100.65:6881', 'closed'), null)
})
