using System.Net;
using System.Text;
using System.Text.Json.Nodes;

namespace Berth.ApiServer.Tests.Http;

/// <summary>Malformed or hostile requests get a 4xx Status, never a 500, and change nothing.</summary>
public sealed class BadInputTests : IAsyncLifetime
{
    private InProcessServer _server = null!;

    public async Task InitializeAsync() => _server = await InProcessServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Theory]
    [InlineData("POST", "/api/v1/namespaces/default/configmaps", "application/json", """{"kind":5,"metadata":{"name":"k"}}""", 400)]
    [InlineData("POST", "/api/v1/namespaces/default/configmaps", "application/json", """{"apiVersion":["v1"],"metadata":{"name":"k"}}""", 400)]
    [InlineData("POST", "/api/v1/namespaces/default/configmaps?fieldValidation=Strict", "application/json", """{"metadata":{"name":"d"},"data":{"a":"1"},"data":{"b":"2"}}""", 400)]
    [InlineData("POST", "/api/v1/namespaces/default/configmaps", "application/yaml", "metadata: {name: x}\ndata: [[[", 400)]
    [InlineData("DELETE", "/api/v1/namespaces/default/configmaps/existing", "application/json", """{"preconditions":{"uid":5}}""", 400)]
    [InlineData("DELETE", "/api/v1/namespaces/default/configmaps/existing", "application/json", """{"propagationPolicy":5}""", 400)]
    [InlineData("DELETE", "/api/v1/namespaces/default/configmaps/existing", "application/json", """{"propagationPolicy":"Sometimes"}""", 422)]
    [InlineData("PATCH", "/api/v1/namespaces/default/configmaps/existing", "application/json-patch+json", """[{"op":"test","path":5}]""", 422)]
    [InlineData("PATCH", "/api/v1/namespaces/default/configmaps/existing", "application/json-patch+json", """[{"op":"replace","path":"/kind","value":7}]""", 400)]
    [InlineData("PATCH", "/api/v1/namespaces/default/configmaps/existing", "application/json-patch+json", """{"op":"add"}""", 400)]
    [InlineData("PATCH", "/api/v1/namespaces/default/configmaps/existing", "text/plain", "x", 415)]
    [InlineData("PATCH", "/api/v1/namespaces/default/configmaps/existing", "application/apply-patch+yaml", "data: {a: b}", 400)]
    [InlineData("PATCH", "/apis/apps/v1/namespaces/default/deployments/ghost/status?fieldManager=t", "application/apply-patch+yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: ghost}\nstatus: {replicas: 1}", 404)]
    [InlineData("GET", "/api/v1/namespaces/default/configmaps?watch=true&timeoutSeconds=99999999999&resourceVersion=abc", "application/json", "", 400)]
    [InlineData("GET", "/api/v1/namespaces/default/configmaps?labelSelector=a%20in%20(", "application/json", "", 400)]
    [InlineData("GET", "/api/v1/namespaces/default/configmaps?fieldSelector=data.x%3Dy", "application/json", "", 400)]
    public async Task Request_Malformed_IsClientErrorStatus(string method, string path, string contentType, string body, int expected)
    {
        await EnsureExistingAsync();
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (body.Length > 0)
        {
            request.Content = new StringContent(body, Encoding.UTF8);
            request.Content.Headers.ContentType = System.Net.Http.Headers.MediaTypeHeaderValue.Parse(contentType);
        }
        using var response = await _server.Client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True((int)response.StatusCode == expected, $"{(int)response.StatusCode}: {text}");
        var status = JsonNode.Parse(text)!;
        Assert.Equal("Status", status["kind"]!.GetValue<string>());
        Assert.Equal(expected, status["code"]!.GetValue<int>());
        // Nothing changed.
        var existing = JsonNode.Parse(await _server.Client.GetStringAsync("/api/v1/namespaces/default/configmaps/existing"))!;
        Assert.Equal("1", existing["data"]!["a"]!.GetValue<string>());
    }

    [Fact]
    public async Task Create_DuplicateKeyWithDefaultValidation_WarnsAndLastWins()
    {
        using var response = await _server.Client.PostAsync("/api/v1/namespaces/default/configmaps",
            new StringContent("""{"metadata":{"name":"dup"},"data":{"a":"1"},"data":{"b":"2"}}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Contains(response.Headers.GetValues("Warning"), w => w.Contains("duplicate field", StringComparison.Ordinal));
        var created = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Equal("2", created["data"]!["b"]!.GetValue<string>());
        Assert.Null(created["data"]!["a"]);
    }

    [Fact]
    public async Task Delete_WithFinalizer_Is202AndNewFinalizersAreForbidden()
    {
        using (var create = await _server.Client.PostAsync("/api/v1/namespaces/default/configmaps",
            new StringContent("""{"metadata":{"name":"held","finalizers":["example.com/hold"]}}""", Encoding.UTF8, "application/json")))
        {
            Assert.Equal(HttpStatusCode.Created, create.StatusCode);
        }
        using (var delete = await _server.Client.DeleteAsync("/api/v1/namespaces/default/configmaps/held"))
        {
            Assert.Equal(HttpStatusCode.Accepted, delete.StatusCode);
        }
        using (var add = await _server.Client.PatchAsync("/api/v1/namespaces/default/configmaps/held",
            new StringContent("""{"metadata":{"finalizers":["example.com/hold","example.com/more"]}}""", Encoding.UTF8, "application/merge-patch+json")))
        {
            Assert.Equal(HttpStatusCode.UnprocessableEntity, add.StatusCode);
            Assert.Contains("no new finalizers can be added if the object is being deleted", await add.Content.ReadAsStringAsync());
        }
        using (var release = await _server.Client.PatchAsync("/api/v1/namespaces/default/configmaps/held",
            new StringContent("""{"metadata":{"finalizers":null}}""", Encoding.UTF8, "application/merge-patch+json")))
        {
            Assert.Equal(HttpStatusCode.OK, release.StatusCode);
        }
        using var gone = await _server.Client.GetAsync("/api/v1/namespaces/default/configmaps/held");
        Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
    }

    [Fact]
    public async Task DeleteNamespace_ObjectWithFinalizer_IsMarkedAndNamespaceWaits()
    {
        using (var ns = await _server.Client.PostAsync("/api/v1/namespaces", new StringContent("""{"metadata":{"name":"doomed"}}""", Encoding.UTF8, "application/json")))
        {
            Assert.Equal(HttpStatusCode.Created, ns.StatusCode);
        }
        using (var cm = await _server.Client.PostAsync("/api/v1/namespaces/doomed/configmaps",
            new StringContent("""{"metadata":{"name":"fin","finalizers":["example.com/hold"]}}""", Encoding.UTF8, "application/json")))
        {
            Assert.Equal(HttpStatusCode.Created, cm.StatusCode);
        }
        using (var delete = await _server.Client.DeleteAsync("/api/v1/namespaces/doomed"))
        {
            Assert.Equal(HttpStatusCode.Accepted, delete.StatusCode);
        }
        // The namespace controller marks the held object; a finalizer owner would now let go.
        var marked = await PollAsync(async () =>
            JsonNode.Parse(await _server.Client.GetStringAsync("/api/v1/namespaces/doomed/configmaps/fin"))!["metadata"]!["deletionTimestamp"] is not null);
        Assert.True(marked);
        using (var release = await _server.Client.PatchAsync("/api/v1/namespaces/doomed/configmaps/fin",
            new StringContent("""{"metadata":{"finalizers":null}}""", Encoding.UTF8, "application/merge-patch+json")))
        {
            Assert.Equal(HttpStatusCode.OK, release.StatusCode);
        }
        var gone = await PollAsync(async () =>
        {
            using var get = await _server.Client.GetAsync("/api/v1/namespaces/doomed");
            return get.StatusCode == HttpStatusCode.NotFound;
        });
        Assert.True(gone);
    }

    private static async Task<bool> PollAsync(Func<Task<bool>> condition)
    {
        for (var i = 0; i < 200; i++)
        {
            if (await condition())
            {
                return true;
            }
            await Task.Delay(50);
        }
        return false;
    }

    private async Task EnsureExistingAsync()
    {
        using var response = await _server.Client.PostAsync("/api/v1/namespaces/default/configmaps",
            new StringContent("""{"metadata":{"name":"existing"},"data":{"a":"1"}}""", Encoding.UTF8, "application/json"));
        Assert.True(response.StatusCode is HttpStatusCode.Created or HttpStatusCode.Conflict);
    }
}
