// WebRTC is never used by the TCP-only benchmark; any attempt says so loudly.
class Unavailable {
  constructor () {
    throw new Error('WebRTC is not available in the torrent-patron benchmark (webrtc-polyfill stub)')
  }
}
export const RTCPeerConnection = Unavailable
export const RTCSessionDescription = Unavailable
export const RTCIceCandidate = Unavailable
export default { RTCPeerConnection, RTCSessionDescription, RTCIceCandidate }
