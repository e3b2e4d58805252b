using System.Net;
using System.Text;
using System.Text.Json.Nodes;

namespace Berth.EndToEnd;

/// <summary>What raw HTTP clients meet: TLS + token, Status errors, discovery content types, watch semantics.</summary>
public sealed class ApiSurfaceTests : IClassFixture<ServerFixture>
{
    private readonly BerthServer _server;

    public ApiSurfaceTests(ServerFixture fixture) => _server = fixture.Server;

    [Fact]
    public async Task Request_WithoutToken_Is401()
    {
        using var http = _server.CreateHttpClient(authenticated: false);
        using var response = await http.GetAsync("/api/v1/namespaces");
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        var status = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Equal("Unauthorized", status["reason"]!.GetValue<string>());
    }

    [Fact]
    public void Kubeconfig_UsesTlsAndToken()
    {
        var text = File.ReadAllText(_server.KubeconfigPath);
        Assert.Contains("certificate-authority-data:", text);
        Assert.Contains("token:", text);
        Assert.Contains(_server.Url, text);
        Assert.StartsWith("https://127.0.0.1:", _server.Url);
    }

    [Fact]
    public async Task Discovery_AggregatedContentTypeIsExact()
    {
        using var http = _server.CreateHttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/apis");
        request.Headers.TryAddWithoutValidation("Accept",
            "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json");
        using var response = await http.SendAsync(request);
        Assert.Equal("application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList", response.Content.Headers.ContentType!.ToString().Replace(" ", "", StringComparison.Ordinal));
        var doc = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        var groups = doc["items"]!.AsArray().Select(i => i!["metadata"]!["name"]!.GetValue<string>()).ToList();
        Assert.Contains("apps", groups);
        Assert.Contains("discovery.k8s.io", groups);
        Assert.Contains("coordination.k8s.io", groups);
    }

    [Theory]
    [InlineData("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",", "application/json")]
    [InlineData("kind: [unclosed", "application/yaml")]
    [InlineData("k8s\u0000\u00ff\u00ff", "application/vnd.kubernetes.protobuf")]
    [InlineData("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":7}}", "application/json")]
    public async Task Create_MalformedBody_Is400(string body, string contentType)
    {
        using var http = _server.CreateHttpClient();
        using var response = await http.PostAsync("/api/v1/namespaces/default/configmaps", new StringContent(body, Encoding.Latin1, contentType));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var status = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Equal("Status", status["kind"]!.GetValue<string>());
        Assert.Equal(400, status["code"]!.GetValue<int>());
    }

    [Fact]
    public async Task Create_OversizedBody_Is413()
    {
        using var http = _server.CreateHttpClient();
        var big = new string('x', 4 * 1024 * 1024);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/namespaces/default/configmaps")
        {
            Content = new StringContent($$$"""{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"big"},"data":{"a":"{{{big}}}"}}""", Encoding.UTF8, "application/json"),
        };
        // Wait for the server's verdict before uploading, so the 413 is read rather than cut off mid-upload.
        request.Headers.ExpectContinue = true;
        using var response = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
    }

    [Fact]
    public async Task Watch_TimeoutSeconds_EndsStreamAndDeliversChanges()
    {
        using var http = _server.CreateHttpClient();
        var ns = "w-" + Guid.NewGuid().ToString("N")[..8];
        using (var create = await http.PostAsync("/api/v1/namespaces", new StringContent($$$"""{"metadata":{"name":"{{{ns}}}"}}""", Encoding.UTF8, "application/json")))
        {
            Assert.Equal(HttpStatusCode.Created, create.StatusCode);
        }
        var list = JsonNode.Parse(await http.GetStringAsync($"/api/v1/namespaces/{ns}/configmaps"))!;
        var rv = list["metadata"]!["resourceVersion"]!.GetValue<string>();
        var watchTask = http.GetStringAsync($"/api/v1/namespaces/{ns}/configmaps?watch=true&resourceVersion={rv}&timeoutSeconds=3&allowWatchBookmarks=true");
        using (var post = await http.PostAsync($"/api/v1/namespaces/{ns}/configmaps",
            new StringContent("""{"metadata":{"name":"a","labels":{"x":"1"}}}""", Encoding.UTF8, "application/json")))
        {
            Assert.Equal(HttpStatusCode.Created, post.StatusCode);
        }
        using (var patch = await http.PatchAsync($"/api/v1/namespaces/{ns}/configmaps/a",
            new StringContent("""{"data":{"k":"v"}}""", Encoding.UTF8, "application/merge-patch+json")))
        {
            Assert.Equal(HttpStatusCode.OK, patch.StatusCode);
        }
        using (var delete = await http.DeleteAsync($"/api/v1/namespaces/{ns}/configmaps/a"))
        {
            Assert.Equal(HttpStatusCode.OK, delete.StatusCode);
        }
        var stream = await watchTask;
        var types = stream.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!["type"]!.GetValue<string>()).ToList();
        Assert.Equal(["ADDED", "MODIFIED", "DELETED"], types);
    }
}
