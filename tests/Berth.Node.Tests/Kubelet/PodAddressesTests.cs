using Berth.Node.Kubelet;

namespace Berth.Node.Tests.Kubelet;

// Host-local style pod IPs: one file per address in a state directory.
public sealed class PodAddressesTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "berth-podaddresses-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    [Fact]
    public void Acquire_hands_out_the_lowest_free_address_and_the_same_one_to_the_same_pod()
    {
        var addresses = new PodAddresses(_dir, "127.244.3.0/24");

        Assert.Equal("127.244.3.1", addresses.Acquire("uid-a"));
        Assert.Equal("127.244.3.2", addresses.Acquire("uid-b"));
        Assert.Equal("127.244.3.1", addresses.Acquire("uid-a"));
        Assert.Equal("127.244.3.3", addresses.Acquire("uid-c"));

        addresses.Release("uid-b");
        Assert.Equal("127.244.3.2", addresses.Acquire("uid-d"));
        Assert.Equal("127.244.3.4", addresses.Acquire("uid-b"));
    }

    [Fact]
    public void Addresses_survive_a_new_instance_over_the_same_directory()
    {
        var first = new PodAddresses(_dir, "127.244.3.0/24");
        first.Acquire("uid-a");
        first.Acquire("uid-b");

        var restarted = new PodAddresses(_dir, "127.244.3.0/24");
        Assert.Equal("127.244.3.2", restarted.Acquire("uid-b"));
        Assert.Equal("127.244.3.3", restarted.Acquire("uid-c"));
        Assert.Equal("uid-a", File.ReadAllText(Path.Combine(_dir, "127.244.3.1")));
    }

    [Fact]
    public void Release_of_a_pod_without_an_address_is_a_no_op()
    {
        var addresses = new PodAddresses(_dir, "127.244.3.0/24");
        addresses.Acquire("uid-a");

        addresses.Release("uid-unknown");

        Assert.Equal(["127.244.3.1"], Directory.GetFiles(_dir).Select(Path.GetFileName));
    }

    [Fact]
    public void ReleaseAllExcept_frees_the_addresses_of_pods_that_are_gone()
    {
        var addresses = new PodAddresses(_dir, "127.244.3.0/24");
        addresses.Acquire("uid-a");
        addresses.Acquire("uid-b");
        addresses.Acquire("uid-c");

        addresses.ReleaseAllExcept(new HashSet<string> { "uid-b" });

        Assert.Equal(["127.244.3.2"], Directory.GetFiles(_dir).Select(Path.GetFileName));
        Assert.Equal("127.244.3.1", addresses.Acquire("uid-d"));
        Assert.Equal("127.244.3.2", addresses.Acquire("uid-b"));
    }

    [Fact]
    public void A_slash_30_holds_two_pods_and_never_hands_out_network_or_broadcast()
    {
        var addresses = new PodAddresses(_dir, "127.244.9.4/30");

        Assert.Equal("127.244.9.5", addresses.Acquire("uid-a"));
        Assert.Equal("127.244.9.6", addresses.Acquire("uid-b"));
        var e = Assert.Throws<InvalidOperationException>(() => addresses.Acquire("uid-c"));
        Assert.Equal("no pod IP left in 127.244.9.4/30: every address is held by a pod on this node", e.Message);

        addresses.Release("uid-a");
        Assert.Equal("127.244.9.5", addresses.Acquire("uid-c"));
    }

    [Fact]
    public void Host_bits_in_the_cidr_are_masked_off()
    {
        var addresses = new PodAddresses(_dir, "127.244.3.77/24");

        Assert.Equal("127.244.3.1", addresses.Acquire("uid-a"));
        Assert.Equal("127.244.3.77/24", addresses.Cidr);
    }

    [Theory]
    [InlineData("127.244.3.0")]
    [InlineData("127.244.3.0/")]
    [InlineData("127.244.3/24")]
    [InlineData("not-an-ip/24")]
    [InlineData("fd00::/64")]
    [InlineData("127.244.3.0/31")]
    [InlineData("127.244.3.0/32")]
    [InlineData("10.0.0.0/7")]
    [InlineData("127.244.3.0/x")]
    public void A_bad_cidr_is_an_ArgumentException(string cidr)
    {
        var e = Assert.Throws<ArgumentException>(() => new PodAddresses(_dir, cidr));

        Assert.Equal("cidr", e.ParamName);
        Assert.StartsWith($"pod CIDR \"{cidr}\" is not an IPv4 CIDR between /8 and /30", e.Message);
    }
}
