using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Berth.Node.Tests.Proxy.HealthCheck;

/// <summary>A response read off the wire as sent, so status line, headers and body can be checked byte for byte.</summary>
internal sealed record RawResponse(int Status, IReadOnlyDictionary<string, string> Headers, string Body);

internal static class RawHttp
{
    public static Task<RawResponse> GetAsync(IPEndPoint server, string path, string method = "GET") =>
        SendAsync(server, Encoding.ASCII.GetBytes($"{method} {path} HTTP/1.1\r\nHost: {server}\r\nUser-Agent: test\r\n\r\n"));

    public static async Task<RawResponse> SendAsync(IPEndPoint server, byte[] request)
    {
        using var socket = new Socket(server.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(server);
        await socket.SendAsync(request, SocketFlags.None);
        using var received = new MemoryStream();
        var buffer = new byte[4096];
        int read;
        while ((read = await socket.ReceiveAsync(buffer, SocketFlags.None)) > 0)
        {
            received.Write(buffer, 0, read);
        }
        var text = Encoding.UTF8.GetString(received.ToArray());
        var split = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        var lines = text[..split].Split("\r\n");
        var headers = lines.Skip(1).Select(l => l.Split(": ", 2)).ToDictionary(p => p[0], p => p[1], StringComparer.OrdinalIgnoreCase);
        return new RawResponse(int.Parse(lines[0].Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture), headers, text[(split + 4)..]);
    }

    public static int FreePort(IPAddress address)
    {
        using var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(address, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }

    public static async Task AssertRefusedAsync(IPEndPoint server)
    {
        using var socket = new Socket(server.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        var e = await Assert.ThrowsAsync<SocketException>(() => socket.ConnectAsync(server));
        Assert.Equal(SocketError.ConnectionRefused, e.SocketErrorCode);
    }
}
