using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Berth.ApiServer.Tests.Http;

namespace Berth.ApiServer.Tests.Registry;

/// <summary>Pod writes through the real API server: bad DNS fields are a 422 with upstream's causes, good pods pass.</summary>
public sealed class PodHooksHttpTests : IAsyncLifetime
{
    private const string Pods = "/api/v1/namespaces/default/pods";

    private InProcessServer _server = null!;

    public async Task InitializeAsync() => _server = await InProcessServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task Create_DnsPolicyNoneWithoutDnsConfig_422()
    {
        var (status, body) = await SendAsync(HttpMethod.Post, Pods, Pod("none", """ "dnsPolicy":"None" """));

        AssertInvalid(status, body, ("spec.dnsConfig", "FieldValueRequired", "Required value: must provide `dnsConfig` when `dnsPolicy` is None"));
        Assert.Equal("Pod \"none\" is invalid: spec.dnsConfig: Required value: must provide `dnsConfig` when `dnsPolicy` is None", body["message"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.NotFound, (await SendAsync(HttpMethod.Get, Pods + "/none")).Status);
    }

    [Fact]
    public async Task Create_BadPolicyNameserversAndAlias_422WithEveryCause()
    {
        var (status, body) = await SendAsync(HttpMethod.Post, Pods, Pod("bad", """
            "dnsPolicy":"Cluster",
            "dnsConfig":{"nameservers":["1.1.1.1","2.2.2.2","3.3.3.3","nope"],"options":[{"value":"1"}]},
            "hostAliases":[{"ip":"10.0.0.300","hostnames":["ok"]}]
            """));

        AssertInvalid(status, body,
            ("spec.dnsPolicy", "FieldValueNotSupported", "Unsupported value: \"Cluster\": supported values: \"ClusterFirst\", \"ClusterFirstWithHostNet\", \"Default\", \"None\""),
            ("spec.dnsConfig.nameservers", "FieldValueInvalid", "Invalid value: []string{\"1.1.1.1\", \"2.2.2.2\", \"3.3.3.3\", \"nope\"}: must not have more than 3 nameservers"),
            ("spec.dnsConfig.nameservers[3]", "FieldValueInvalid", "Invalid value: \"nope\": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"),
            ("spec.dnsConfig.options[0]", "FieldValueRequired", "Required value: must not be empty"),
            ("spec.hostAliases[0].ip", "FieldValueInvalid", "Invalid value: \"10.0.0.300\": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"));
    }

    [Fact]
    public async Task Create_ValidDnsFieldsAndDefaultPolicy_Created()
    {
        var (plain, plainBody) = await SendAsync(HttpMethod.Post, Pods, Pod("plain", ""));
        var (custom, customBody) = await SendAsync(HttpMethod.Post, Pods, Pod("custom", """
            "dnsPolicy":"None","hostname":"web-0","subdomain":"web",
            "dnsConfig":{"nameservers":["127.96.0.10"],"searches":["default.svc.cluster.local."],"options":[{"name":"ndots","value":"2"}]},
            "hostAliases":[{"ip":"127.0.0.1","hostnames":["foo.local","bar.local"]}]
            """));

        Assert.True(plain == HttpStatusCode.Created, plainBody.ToJsonString());
        Assert.Equal("ClusterFirst", plainBody["spec"]!["dnsPolicy"]!.GetValue<string>());
        Assert.True(custom == HttpStatusCode.Created, customBody.ToJsonString());
    }

    [Fact]
    public async Task Update_StatusOfAPodAndUnchangedDns_NotRevalidated_ButAChangeIs()
    {
        var (_, created) = await SendAsync(HttpMethod.Post, Pods, Pod("web", ""));
        var labelled = created.DeepClone().AsObject();
        labelled["metadata"]!["labels"] = new JsonObject { ["app"] = "web" };
        var (updated, _) = await SendAsync(HttpMethod.Put, Pods + "/web", labelled.ToJsonString());
        var bad = created.DeepClone().AsObject();
        bad["metadata"]!.AsObject().Remove("resourceVersion");
        bad["spec"]!["dnsPolicy"] = "None";
        var (rejected, body) = await SendAsync(HttpMethod.Put, Pods + "/web", bad.ToJsonString());

        Assert.Equal(HttpStatusCode.OK, updated);
        AssertInvalid(rejected, body, ("spec.dnsConfig", "FieldValueRequired", "Required value: must provide `dnsConfig` when `dnsPolicy` is None"));
    }

    private static string Pod(string name, string specFields)
    {
        var fields = specFields.Trim().Length > 0 ? specFields.Trim() + "," : "";
        return "{\"metadata\":{\"name\":\"" + name + "\"},\"spec\":{" + fields +
            "\"containers\":[{\"name\":\"c\",\"image\":\"busybox\",\"command\":[\"sleep\",\"60\"]}]}}";
    }

    private static void AssertInvalid(HttpStatusCode status, JsonNode body, params (string Field, string Reason, string Message)[] causes)
    {
        Assert.True(status == HttpStatusCode.UnprocessableEntity, body.ToJsonString());
        Assert.Equal("Invalid", body["reason"]!.GetValue<string>());
        Assert.Equal("Pod", body["details"]!["kind"]!.GetValue<string>());
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
