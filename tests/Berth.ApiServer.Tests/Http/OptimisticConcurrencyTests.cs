using System.Net;
using System.Text;
using System.Text.Json.Nodes;

namespace Berth.ApiServer.Tests.Http;

/// <summary>
/// Writes that pin a resourceVersion lose to a newer write with upstream's 409; writes that do not pin one land on
/// whatever is current (upstream GuaranteedUpdate).
/// </summary>
public sealed class OptimisticConcurrencyTests : IAsyncLifetime
{
    private const string ConfigMaps = "/api/v1/namespaces/default/configmaps";

    private InProcessServer _server = null!;

    public async Task InitializeAsync() => _server = await InProcessServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Theory]
    [InlineData("PUT")]
    [InlineData("PATCH")]
    [InlineData("DELETE")]
    public async Task Write_PinnedToAStaleResourceVersion_IsModifiedConflict_AndChangesNothing(string method)
    {
        var stale = await CreateAsync();
        var (_, current) = await SendAsync("PUT", ConfigMaps + "/cm", """{"metadata":{"name":"cm"},"data":{"a":"newer"}}""");
        var body = method switch
        {
            "PUT" => $$$"""{"metadata":{"name":"cm","resourceVersion":"{{{stale}}}"},"data":{"a":"mine"}}""",
            "PATCH" => $$$"""{"metadata":{"resourceVersion":"{{{stale}}}"},"data":{"a":"mine"}}""",
            _ => $$$"""{"preconditions":{"resourceVersion":"{{{stale}}}"}}""",
        };

        var (status, error) = await SendAsync(method, ConfigMaps + "/cm", body);

        Assert.Equal(HttpStatusCode.Conflict, status);
        Assert.Equal("Conflict", error["reason"]!.GetValue<string>());
        Assert.Contains(method == "DELETE" ? "Precondition failed: ResourceVersion in precondition" : "the object has been modified; please apply your changes to the latest version and try again",
            error["message"]!.GetValue<string>(), StringComparison.Ordinal);
        var (_, after) = await SendAsync("GET", ConfigMaps + "/cm", "");
        Assert.Equal(("newer", current["metadata"]!["resourceVersion"]!.GetValue<string>()),
            (after["data"]!["a"]!.GetValue<string>(), after["metadata"]!["resourceVersion"]!.GetValue<string>()));
    }

    [Fact]
    public async Task Put_WithoutResourceVersion_LandsOnTheCurrentObject()
    {
        await CreateAsync();
        await SendAsync("PUT", ConfigMaps + "/cm", """{"metadata":{"name":"cm"},"data":{"a":"newer"}}""");

        var (status, updated) = await SendAsync("PUT", ConfigMaps + "/cm", """{"metadata":{"name":"cm"},"data":{"a":"mine"}}""");

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("mine", updated["data"]!["a"]!.GetValue<string>());
    }

    private async Task<string> CreateAsync()
    {
        var (status, created) = await SendAsync("POST", ConfigMaps, """{"metadata":{"name":"cm"},"data":{"a":"first"}}""");
        Assert.Equal(HttpStatusCode.Created, status);
        return created["metadata"]!["resourceVersion"]!.GetValue<string>();
    }

    private async Task<(HttpStatusCode Status, JsonNode Body)> SendAsync(string method, string path, string body)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (body.Length > 0)
        {
            request.Content = new StringContent(body, Encoding.UTF8,
                method == "PATCH" ? "application/merge-patch+json" : "application/json");
        }
        using var response = await _server.Client.SendAsync(request);
        return (response.StatusCode, JsonNode.Parse(await response.Content.ReadAsStringAsync())!);
    }
}
