using System.Net.Sockets;

namespace Berth.Node.Dns;

/// <summary>DNS over TCP (RFC 1035 4.2.2, RFC 7766): each message behind a 2-byte length, for the server and the forwarder.</summary>
internal static class DnsTcp
{
    /// <summary>Fills <paramref name="buffer"/>; false when the peer closed first.</summary>
    public static async ValueTask<bool> ReadExactlyAsync(Socket socket, Memory<byte> buffer, CancellationToken ct)
    {
        while (buffer.Length > 0)
        {
            int read = await socket.ReceiveAsync(buffer, SocketFlags.None, ct);
            if (read == 0)
            {
                return false;
            }
            buffer = buffer[read..];
        }
        return true;
    }
}
