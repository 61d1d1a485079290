package io.plaza.chat;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

/**
 * A WebSocket client on a plain socket with a tiny receive buffer, for the slow-reader test: it can simply not read,
 * which no stream-based client does (they read into their own buffers). It reads server frames (never masked) later.
 */
final class RawWebSocket implements AutoCloseable {

  /** A server frame: opcode 1 = text, 8 = close (payload: 2-byte code + reason). */
  record Frame(int opcode, byte[] payload) {
    String text() {
      return new String(payload, StandardCharsets.UTF_8);
    }
  }

  private final Socket socket = new Socket();
  private final DataInputStream in;
  private final String path;

  RawWebSocket(int port, String path, String token) throws IOException {
    this.path = path;
    socket.setReceiveBufferSize(4096);
    socket.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
    socket.setSoTimeout(30_000);
    var key = Base64.getEncoder().encodeToString(new byte[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16});
    var request = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1:" + port + "\r\nUpgrade: websocket\r\n"
        + "Connection: Upgrade\r\nSec-WebSocket-Key: " + key + "\r\nSec-WebSocket-Version: 13\r\n"
        + "Authorization: Bearer " + token + "\r\n\r\n";
    socket.getOutputStream().write(request.getBytes(StandardCharsets.US_ASCII));
    in = new DataInputStream(socket.getInputStream());
    var status = headers(in);
    if (!status.startsWith("HTTP/1.1 101")) throw new IOException("upgrade refused: " + status);
  }

  private static String headers(InputStream in) throws IOException {
    var head = new ByteArrayOutputStream();
    while (!head.toString(StandardCharsets.US_ASCII).endsWith("\r\n\r\n")) {
      int b = in.read();
      if (b < 0) throw new IOException("closed during the handshake");
      head.write(b);
    }
    return head.toString(StandardCharsets.US_ASCII);
  }

  /** Every frame until the server's close frame (included) or the end of the stream. */
  List<Frame> readUntilClosed() throws IOException {
    var frames = new ArrayList<Frame>();
    while (true) {
      int first;
      try {
        first = in.read();
      } catch (java.net.SocketException reset) {
        return frames;
      }
      if (first < 0) return frames;
      int opcode = first & 0x0f;
      long length = in.readUnsignedByte() & 0x7f;
      if (length == 126) length = in.readUnsignedShort();
      else if (length == 127) length = in.readLong();
      var payload = new byte[(int) length];
      in.readFully(payload);
      var frame = new Frame(opcode, payload);
      if (opcode == 1) {
        var violations = io.plaza.platform.AsyncContract.get().violations(path, frame.text());
        if (!violations.isEmpty()) throw new AssertionError("not as asyncapi.yaml says: " + violations);
      }
      frames.add(frame);
      if (opcode == 8) return frames;
    }
  }

  @Override
  public void close() throws IOException {
    socket.close();
  }
}
