using System.Net;
using Berth.Node.Native;
using Berth.Node.Proxy.Userspace.Tcp;

namespace Berth.Node.Tests.Proxy.Userspace.Tcp;

public sealed class SocketAddressesTests
{
    [Theory]
    [InlineData("127.0.0.1", true, true)]
    [InlineData("127.77.0.9", true, false)]
    [InlineData("127.255.255.254", true, false)]
    [InlineData("10.0.0.1", false, false)]
    [InlineData("128.0.0.1", false, false)]
    [InlineData("::1", true, true)]
    [InlineData("::ffff:127.0.0.5", true, false)]
    [InlineData("::ffff:10.0.0.5", false, false)]
    [InlineData("::2", false, false)]
    [InlineData("fe80::1", false, false)]
    public void From_Address_LoopbackAndDefaultSource(string text, bool loopback, bool defaultSource)
    {
        IPEndPoint endPoint = new(IPAddress.Parse(text), 8080);

        LibC.SockAddr address = SocketAddresses.From(endPoint);

        Assert.Equal(loopback, SocketAddresses.IsLoopback(address));
        Assert.Equal(defaultSource, SocketAddresses.IsDefaultLoopbackSource(address));
        Assert.Equal(endPoint.Address, SocketAddresses.ToAddress(address));
        Assert.Equal(0x901F, address.Port);
    }
}
