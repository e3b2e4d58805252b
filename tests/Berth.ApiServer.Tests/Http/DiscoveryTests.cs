using System.Text.Json.Nodes;

namespace Berth.ApiServer.Tests.Http;

public sealed class DiscoveryTests
{
    [Fact]
    public async Task LegacyApiVersions_ReportsTheBoundPort()
    {
        await using var server = await InProcessServer.StartAsync();
        var versions = JsonNode.Parse(await server.Client.GetStringAsync("/api"))!;
        var address = versions["serverAddressByClientCIDRs"]![0]!["serverAddress"]!.GetValue<string>();
        Assert.Equal(server.Client.BaseAddress!.Authority, address);
    }

    [Theory]
    [InlineData("/api/v1", "services/status")]
    [InlineData("/apis/apps/v1", "deployments/scale")]
    [InlineData("/apis/discovery.k8s.io/v1", "endpointslices")]
    [InlineData("/apis/coordination.k8s.io/v1", "leases")]
    public async Task LegacyResourceList_ListsResourcesAndSubresources(string path, string expected)
    {
        await using var server = await InProcessServer.StartAsync();
        var list = JsonNode.Parse(await server.Client.GetStringAsync(path))!;
        Assert.Contains(list["resources"]!.AsArray(), r => r!["name"]!.GetValue<string>() == expected);
    }
}
