/** The service's envelopes: constructors build what their guards accept, and no other guard. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { closeTorrent, createNewTorrent } from '../../lib/messages/commands.ts'
import { isServiceAdd, isServicePassOn, isServiceRemove, serviceAdd, servicePassOn, serviceRemove } from '../../lib/messages/envelopes.ts'

const guards = { ServiceAdd: isServiceAdd, ServiceRemove: isServiceRemove, ServicePassOn: isServicePassOn }

test('each constructor carries the patron (and the command), and only its own guard accepts it', () => {
  fc.assert(
    fc.property(fc.nat(), fc.string(), fc.boolean(), (patron, id, close) => {
      const command = close ? closeTorrent(id) : createNewTorrent(id)
      const built = [serviceAdd(patron), serviceRemove(patron), servicePassOn(patron, command)]
      assert.deepEqual(built, [
        { type: 'ServiceAdd', patron },
        { type: 'ServiceRemove', patron },
        { type: 'ServicePassOn', patron, message: command }
      ])
      for (const m of built) for (const [type, guard] of Object.entries(guards)) assert.equal(guard(m), type === m.type, `${type} on ${m.type}`)
    })
  )
  assert.equal(isServicePassOn(closeTorrent('t1')), false)
})
