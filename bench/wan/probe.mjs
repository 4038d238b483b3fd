// Probe of an emulated link, run inside a namespace: `server PORT` echoes TCP and counts UDP;
// `client HOST PORT BYTES` prints {rttMs, mbit, udpSent, udpEchoed} as one JSON line.
import net from 'node:net'
import dgram from 'node:dgram'
const [mode, a, b, c] = process.argv.slice(2)
if (mode === 'server') {
  const port = Number(a)
  net.createServer((s) => {
    s.once('data', (first) => {
      if (first[0] === 0x52) { s.end(); return } // 'R': round trip probe, answered by closing
      let got = first.length
      s.on('data', (d) => { got += d.length })
      s.on('end', () => s.end(String(got)))
    })
  }).listen(port)
  const u = dgram.createSocket('udp4')
  u.on('message', (m, r) => u.send(m, r.port, r.address))
  u.bind(port)
} else {
  const host = a; const port = Number(b); const bytes = Number(c)
  const rtts = []
  for (let i = 0; i < 5; i++) {
    const t0 = process.hrtime.bigint()
    await new Promise((resolve, reject) => {
      const s = net.connect(port, host, () => { rtts.push(Number(process.hrtime.bigint() - t0) / 1e6); s.end('R') })
      s.on('close', resolve); s.on('error', reject)
    })
  }
  const t0 = process.hrtime.bigint()
  await new Promise((resolve, reject) => {
    const s = net.connect(port, host, () => {
      const chunk = Buffer.alloc(65536, 1)
      let left = bytes
      const pump = () => { while (left > 0) { left -= chunk.length; if (!s.write(chunk)) { s.once('drain', pump); return } } s.end() }
      pump()
    })
    s.on('data', () => {}); s.on('close', resolve); s.on('error', reject)
  })
  const secs = Number(process.hrtime.bigint() - t0) / 1e9
  const u = dgram.createSocket('udp4')
  let echoed = 0
  u.on('message', () => { echoed++ })
  const sent = 1000
  for (let i = 0; i < sent; i++) { u.send(Buffer.alloc(100), port, host); if (i % 50 === 49) await new Promise((r) => setTimeout(r, 10)) }
  await new Promise((r) => setTimeout(r, 1500))
  u.close()
  rtts.sort((x, y) => x - y) // the first connect also resolves ARP: the least is the path's RTT
  console.log(JSON.stringify({ rttMs: rtts[0], mbit: bytes * 8 / secs / 1e6, udpSent: sent, udpEchoed: echoed }))
}
