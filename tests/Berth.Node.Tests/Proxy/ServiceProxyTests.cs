using System.Net;
using Berth.Node.Proxy;

namespace Berth.Node.Tests.Proxy;

public sealed class ServiceProxyTests
{
    [Fact]
    public void NodePortAddresses_NoneConfigured_TheNodeIP() =>
        Assert.Equal([IPAddress.Parse("127.0.0.9")], [.. ServiceProxy.NodePortAddresses([], "127.0.0.9")]);

    [Fact]
    public void NodePortAddresses_IPs_TakenAsGivenWithoutDuplicates() =>
        Assert.Equal(
            [IPAddress.Parse("127.0.0.1"), IPAddress.Parse("192.0.2.4")],
            [.. ServiceProxy.NodePortAddresses(["127.0.0.1", "192.0.2.4", "127.0.0.1"], "127.0.0.9")]);

    [Fact]
    public void NodePortAddresses_Cidr_ThisHostsAddressesInside()
    {
        // Every Linux host has 127.0.0.1 on lo, and no interface address in a /32 nobody uses.
        var addresses = ServiceProxy.NodePortAddresses(["127.0.0.0/8", "203.0.113.77/32"], "127.0.0.9");
        Assert.Contains(IPAddress.Loopback, addresses);
        Assert.All(addresses, a => Assert.StartsWith("127.", a.ToString(), StringComparison.Ordinal));
        Assert.DoesNotContain(IPAddress.Parse("127.0.0.9"), addresses);
    }
}
