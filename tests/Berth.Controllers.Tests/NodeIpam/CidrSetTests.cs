using Berth.Controllers.NodeIpam;

namespace Berth.Controllers.Tests.NodeIpam;

// Upstream pkg/controller/nodeipam/ipam/cidrset/cidr_set_test.go (IPv4 cases): lowest free subnet first,
// occupy/release by CIDR, a full set, and the mask-size limits.
public sealed class CidrSetTests
{
    [Fact]
    public void Next_hands_out_subnets_lowest_first()
    {
        var set = new NodeIpamController.CidrSet("10.244.0.0/16", 24);

        Assert.Equal("10.244.0.0/24", set.Next());
        Assert.Equal("10.244.1.0/24", set.Next());
        Assert.Equal("10.244.2.0/24", set.Next());
    }

    [Fact]
    public void Fully_allocated_slash_30_hands_out_one_subnet_then_none_until_released()
    {
        // TestCIDRSetFullyAllocated.
        var set = new NodeIpamController.CidrSet("127.123.234.0/30", 30);

        Assert.Equal("127.123.234.0/30", set.Next());
        Assert.Null(set.Next());
        set.Release("127.123.234.0/30");
        Assert.Equal("127.123.234.0/30", set.Next());
        Assert.Null(set.Next());
    }

    [Fact]
    public void Every_subnet_of_a_range_is_handed_out_once_then_none()
    {
        // TestCIDRSet_RandomishAllocation / AllocationOccupied shape: a /24 split into /28s.
        var set = new NodeIpamController.CidrSet("127.123.234.0/24", 28);
        var got = new List<string>();
        while (set.Next() is { } cidr)
        {
            got.Add(cidr);
        }

        Assert.Equal(Enumerable.Range(0, 16).Select(i => $"127.123.234.{i * 16}/28"), got);
    }

    [Fact]
    public void Occupied_subnets_are_skipped_and_released_ones_reused_lowest_first()
    {
        var set = new NodeIpamController.CidrSet("10.244.0.0/16", 24);
        set.Occupy("10.244.0.0/24");
        set.Occupy("10.244.2.0/24");

        Assert.Equal("10.244.1.0/24", set.Next());
        Assert.Equal("10.244.3.0/24", set.Next());

        set.Release("10.244.0.0/24");
        Assert.Equal("10.244.0.0/24", set.Next());
        Assert.Equal("10.244.4.0/24", set.Next());
    }

    [Theory]
    [InlineData("10.245.0.0/24")]
    [InlineData("10.243.255.0/24")]
    [InlineData("9.0.0.0/8")]
    [InlineData("fd00::/64")]
    [InlineData("garbage")]
    public void Occupy_and_Release_ignore_cidrs_outside_the_range(string outside)
    {
        var set = new NodeIpamController.CidrSet("10.244.0.0/16", 24);
        set.Occupy(outside);
        set.Release(outside);

        Assert.Equal("10.244.0.0/24", set.Next());
    }

    [Theory]
    [InlineData("10.244.0.0/16", "10.244.0.0/16")]
    [InlineData("10.244.7.9/16", "10.244.0.0/16")]
    [InlineData("127.244.0.0/14", "127.244.0.0/14")]
    public void ToString_is_the_cluster_cidr_with_host_bits_cleared(string cluster, string expected) =>
        Assert.Equal(expected, new NodeIpamController.CidrSet(cluster, 24).ToString());

    [Fact]
    public void Host_bits_of_the_cluster_cidr_do_not_shift_the_subnets() =>
        Assert.Equal("10.244.0.0/24", new NodeIpamController.CidrSet("10.244.7.9/16", 24).Next());

    [Theory]
    [InlineData("10.0.0.0/16", 15)] // node mask wider than the cluster's
    [InlineData("10.0.0.0/16", 31)] // no room for a pod
    [InlineData("10.0.0.0/8", 25)]  // 17 bits more: upstream ErrCIDRSetSubNetTooBig
    public void Mask_sizes_that_do_not_fit_are_ArgumentExceptions(string cluster, int mask)
    {
        var e = Assert.Throws<ArgumentException>(() => new NodeIpamController.CidrSet(cluster, mask));

        Assert.Equal("nodeMaskSize", e.ParamName);
        Assert.StartsWith($"node CIDR mask size {mask} does not fit the cluster CIDR {cluster} (at most 16 bits more)", e.Message);
    }

    [Fact]
    public void Sixteen_bits_more_is_the_largest_set()
    {
        var set = new NodeIpamController.CidrSet("10.0.0.0/8", 24);
        for (var i = 0; i < 65535; i++)
        {
            set.Next();
        }

        Assert.Equal("10.255.255.0/24", set.Next());
        Assert.Null(set.Next());
    }

    [Theory]
    [InlineData("10.0.0.0")]
    [InlineData("fd00::/48")]
    [InlineData("10.0.0.0/0")]
    [InlineData("10.0.0.0/31")]
    [InlineData("ten/16")]
    public void A_bad_cluster_cidr_is_an_ArgumentException(string cluster)
    {
        var e = Assert.Throws<ArgumentException>(() => new NodeIpamController.CidrSet(cluster, 24));

        Assert.Equal("clusterCidr", e.ParamName);
        Assert.StartsWith($"cluster CIDR \"{cluster}\" is not an IPv4 CIDR", e.Message);
    }
}
