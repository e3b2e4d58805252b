using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Berth.ApiServer.Tests.Http;

namespace Berth.ApiServer.Tests.Registry;

/// <summary>
/// Endpoints and EndpointSlice writes through the real API server: what a user writing them for a Service without
/// a selector gets back (a 422 naming each bad field, as upstream), loopback pod IPs accepted, and the EndpointSlice
/// generation rule of upstream's endpointslice strategy.
/// </summary>
public sealed class EndpointHooksHttpTests : IAsyncLifetime
{
    private const string Endpoints = "/api/v1/namespaces/default/endpoints";
    private const string Slices = "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices";

    private InProcessServer _server = null!;

    public async Task InitializeAsync() => _server = await InProcessServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task CreateSlice_BadAddressAndProtocol_422WithUpstreamCauses()
    {
        var (status, body) = await SendAsync(HttpMethod.Post, Slices, """
            {"metadata":{"name":"bad"},"addressType":"IPv4",
             "endpoints":[{"addresses":["10.0.0.300"]}],
             "ports":[{"name":"http","port":80,"protocol":"QUIC"}]}
            """);

        AssertInvalid(status, body, "EndpointSlice", "discovery.k8s.io",
            ("endpoints[0].addresses[0]", "FieldValueInvalid", "Invalid value: \"10.0.0.300\": must be a valid IPv4 address"),
            ("ports[0].protocol", "FieldValueNotSupported", "Unsupported value: \"QUIC\": supported values: \"SCTP\", \"TCP\", \"UDP\""));
        // The message names the group as upstream's GroupKind does.
        Assert.StartsWith("EndpointSlice.discovery.k8s.io \"bad\" is invalid: [endpoints[0].addresses[0]: ", body["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, (await SendAsync(HttpMethod.Get, Slices + "/bad")).Status);
    }

    [Theory]
    [InlineData("POST")]
    [InlineData("PUT")]
    public async Task CreateEndpoints_LinkLocalIPAndUnnamedPort_422WithUpstreamCauses(string method)
    {
        // PUT creates Endpoints that do not exist yet (AllowCreateOnUpdate), so it must validate just the same.
        var path = method == "PUT" ? Endpoints + "/bad" : Endpoints;
        var (status, body) = await SendAsync(new HttpMethod(method), path, """
            {"metadata":{"name":"bad"},
             "subsets":[{"addresses":[{"ip":"169.254.169.254"}],"ports":[{"port":80},{"name":"b","port":81}]}]}
            """);

        AssertInvalid(status, body, "Endpoints", null,
            ("subsets[0].addresses[0].ip", "FieldValueInvalid",
                "Invalid value: \"169.254.169.254\": may not be in the link-local range (169.254.0.0/16, fe80::/10)"),
            ("subsets[0].ports[0].name", "FieldValueRequired", "Required value"));
        Assert.Equal(
            "Endpoints \"bad\" is invalid: [subsets[0].addresses[0].ip: Invalid value: \"169.254.169.254\": may not be in the link-local range (169.254.0.0/16, fe80::/10), subsets[0].ports[0].name: Required value]",
            body["message"]!.GetValue<string>());
    }

    [Fact]
    public async Task Create_LoopbackPodIPsAndPortsWithoutProtocol_AcceptedAndStoredWithUpstreamDefaults()
    {
        var (epStatus, endpoints) = await SendAsync(HttpMethod.Post, Endpoints, """
            {"metadata":{"name":"web"},"subsets":[{"addresses":[{"ip":"127.244.0.7"}],"ports":[{"port":8080}]}]}
            """);
        var (sliceStatus, slice) = await SendAsync(HttpMethod.Post, Slices, """
            {"metadata":{"name":"web-1"},"addressType":"IPv4","endpoints":[{"addresses":["127.244.0.7"]}],"ports":[{"port":8080}]}
            """);

        Assert.True(epStatus == HttpStatusCode.Created, endpoints.ToJsonString());
        Assert.True(sliceStatus == HttpStatusCode.Created, slice.ToJsonString());
        // Stored as upstream's v1 defaulting leaves them: protocol TCP, and a slice port's name "".
        Assert.Equal("TCP", endpoints["subsets"]![0]!["ports"]![0]!["protocol"]!.GetValue<string>());
        Assert.Equal("TCP", slice["ports"]![0]!["protocol"]!.GetValue<string>());
        Assert.Equal("", slice["ports"]![0]!["name"]!.GetValue<string>());
    }

    [Fact]
    public async Task UpdateSlice_AddressTypeChanged_422FieldIsImmutable()
    {
        var slice = await CreateSliceAsync("imm");
        slice["addressType"] = "IPv6";
        slice["endpoints"] = new JsonArray(new JsonObject { ["addresses"] = new JsonArray("fd00::1") });

        var (status, body) = await SendAsync(HttpMethod.Put, Slices + "/imm", slice.ToJsonString());

        AssertInvalid(status, body, "EndpointSlice", "discovery.k8s.io",
            ("addressType", "FieldValueInvalid", "Invalid value: \"IPv6\": field is immutable"));
    }

    [Fact]
    public async Task UpdateSlice_Generation_BumpsOnEndpointAndLabelChangesOnly()
    {
        var slice = await CreateSliceAsync("gen");
        Assert.Equal(1, Generation(slice));

        // The same object again: nothing is written, not even a new resourceVersion.
        var same = await PutAsync(slice);
        Assert.Equal((1, ResourceVersion(slice)), (Generation(same), ResourceVersion(same)));

        same["endpoints"]!.AsArray().Add(new JsonObject { ["addresses"] = new JsonArray("127.244.0.9") });
        var moreEndpoints = await PutAsync(same);
        Assert.Equal(2, Generation(moreEndpoints));

        moreEndpoints["metadata"]!["annotations"] = new JsonObject { ["note"] = "metadata only" };
        var annotated = await PutAsync(moreEndpoints);
        Assert.Equal(2, Generation(annotated));
        Assert.NotEqual(ResourceVersion(moreEndpoints), ResourceVersion(annotated));

        annotated["metadata"]!["labels"] = new JsonObject { ["kubernetes.io/service-name"] = "other" };
        Assert.Equal(3, Generation(await PutAsync(annotated)));
    }

    [Fact]
    public async Task UpdateSlice_EmptyListForAnAbsentOne_IsNoChange()
    {
        var (status, created) = await SendAsync(HttpMethod.Post, Slices, """
            {"metadata":{"name":"empty"},"addressType":"IPv4"}
            """);
        Assert.True(status == HttpStatusCode.Created, created.ToJsonString());

        created["endpoints"] = new JsonArray();
        created["ports"] = new JsonArray();
        Assert.Equal(1, Generation(await PutAsync(created.AsObject())));
    }

    [Fact]
    public async Task CreateSlice_DeprecatedTopology_IsDroppedBeforeValidation()
    {
        // The zone key would be an internal error if it reached validation; a v1 write drops the map first.
        var (status, slice) = await SendAsync(HttpMethod.Post, Slices, """
            {"metadata":{"name":"topo"},"addressType":"IPv4",
             "endpoints":[{"addresses":["127.244.0.8"],"deprecatedTopology":{"topology.kubernetes.io/zone":"a","kubernetes.io/hostname":"node-1"}}]}
            """);

        Assert.True(status == HttpStatusCode.Created, slice.ToJsonString());
        var endpoint = slice["endpoints"]![0]!.AsObject();
        Assert.False(endpoint.ContainsKey("deprecatedTopology"));
        Assert.False(endpoint.ContainsKey("nodeName"));
    }

    private async Task<JsonObject> CreateSliceAsync(string name)
    {
        var (status, created) = await SendAsync(HttpMethod.Post, Slices, $$$"""
            {"metadata":{"name":"{{{name}}}","labels":{"kubernetes.io/service-name":"web"}},"addressType":"IPv4",
             "endpoints":[{"addresses":["127.244.0.8"],"conditions":{"ready":true}}],
             "ports":[{"name":"http","port":8080,"protocol":"TCP"}]}
            """);
        Assert.True(status == HttpStatusCode.Created, created.ToJsonString());
        return created.AsObject();
    }

    private async Task<JsonObject> PutAsync(JsonObject slice)
    {
        var (status, updated) = await SendAsync(HttpMethod.Put, $"{Slices}/{slice["metadata"]!["name"]}", slice.ToJsonString());
        Assert.True(status == HttpStatusCode.OK, updated.ToJsonString());
        return updated.AsObject();
    }

    private static long Generation(JsonNode obj) => obj["metadata"]!["generation"]!.GetValue<long>();

    private static string ResourceVersion(JsonNode obj) => obj["metadata"]!["resourceVersion"]!.GetValue<string>();

    private static void AssertInvalid(HttpStatusCode status, JsonNode body, string kind, string? group,
        params (string Field, string Reason, string Message)[] causes)
    {
        Assert.True(status == HttpStatusCode.UnprocessableEntity, body.ToJsonString());
        Assert.Equal("Invalid", body["reason"]!.GetValue<string>());
        Assert.Equal(kind, body["details"]!["kind"]!.GetValue<string>());
        Assert.Equal(group, body["details"]!["group"]?.GetValue<string>());
        Assert.Equal(causes, body["details"]!["causes"]!.AsArray().Select(c =>
            (c!["field"]!.GetValue<string>(), c["reason"]!.GetValue<string>(), c["message"]!.GetValue<string>())));
    }

    private async Task<(HttpStatusCode Status, JsonNode Body)> SendAsync(HttpMethod method, string path, string? body = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        }
        using var response = await _server.Client.SendAsync(request);
        return (response.StatusCode, JsonNode.Parse(await response.Content.ReadAsStringAsync())!);
    }
}
