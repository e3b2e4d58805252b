using System.Text;
using System.Text.Json.Nodes;
using Berth.ApiServer.Discovery;
using Berth.ApiServer.OpenApi;
using Berth.ApiServer.Security;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Berth.ApiServer.Http;

/// <summary>
/// The one terminal middleware: authentication, then the non-resource paths (version, health, discovery,
/// OpenAPI), then resources. Errors always leave as metav1.Status.
/// </summary>
public sealed partial class ApiRouter
{
    private static readonly byte[] s_version = Encoding.UTF8.GetBytes(new JsonObject
    {
        // kubectl's dispatcher picks the kubectl binary by this minor version (kubectl-wire.md §0).
        ["major"] = "1",
        ["minor"] = "32",
        ["gitVersion"] = "v1.32.0-berth",
        ["gitCommit"] = "berth",
        ["gitTreeState"] = "clean",
        ["buildDate"] = "2025-01-01T00:00:00Z",
        ["goVersion"] = "go1.23",
        ["compiler"] = "gc",
        ["platform"] = "linux/amd64",
    }.ToJsonString());

    private static readonly byte[] s_ok = "ok"u8.ToArray();

    private readonly DiscoveryDocuments _discovery;
    private readonly OpenApiDocuments _openApi;
    private readonly ResourceHandler _resources;
    private readonly string _token;
    private readonly byte[] _caPem;
    private readonly ILogger<ApiRouter> _logger;

    public ApiRouter(DiscoveryDocuments discovery, OpenApiDocuments openApi, ResourceHandler resources, ClusterCredentials credentials, ILogger<ApiRouter> logger)
    {
        _discovery = discovery;
        _openApi = openApi;
        _resources = resources;
        _token = credentials.Token;
        _caPem = Encoding.ASCII.GetBytes(credentials.CaPem);
        _logger = logger;
    }

    public async Task InvokeAsync(HttpContext http)
    {
        try
        {
            await RouteAsync(http).ConfigureAwait(false);
        }
        catch (ApiException e)
        {
            if (!http.Response.HasStarted)
            {
                await Respond.StatusAsync(http, e).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (http.RequestAborted.IsCancellationRequested)
        {
            // The client went away.
        }
        catch (Exception e) when (e is BadHttpRequestException or IOException && !http.Response.HasStarted)
        {
            await Respond.StatusAsync(http, ApiException.BadRequest(e.Message)).ConfigureAwait(false);
        }
        catch (Exception e) when (!http.Response.HasStarted)
        {
            LogInternalError(http.Request.Method, http.Request.Path, e);
            await Respond.StatusAsync(http, new ApiException(500, "InternalError", $"Internal error occurred: {e.Message}")).ConfigureAwait(false);
        }
    }

    private async Task RouteAsync(HttpContext http)
    {
        var path = http.Request.Path.Value ?? "/";
        if (path is "/healthz" or "/livez" or "/readyz")
        {
            await Respond.BytesAsync(http, 200, s_ok, "text/plain; charset=utf-8").ConfigureAwait(false);
            return;
        }
        if (path == "/version")
        {
            // Public, as upstream's system:public-info-viewer role allows.
            await Respond.BytesAsync(http, 200, s_version).ConfigureAwait(false);
            return;
        }
        if (path == "/cacerts")
        {
            // Public, as k3s serves it: an agent holding a join token (K10<sha256 of this CA>::secret) fetches the CA
            // and trusts it only if the hash matches, so it needs no CA file.
            await Respond.BytesAsync(http, 200, _caPem, "application/x-pem-file").ConfigureAwait(false);
            return;
        }
        if (!ClusterCredentials.TokenMatches(http.Request.Headers.Authorization.ToString(), _token))
        {
            await Respond.StatusAsync(http, new ApiException(401, "Unauthorized", "Unauthorized")).ConfigureAwait(false);
            return;
        }
        var accept = http.Request.Headers.Accept.ToString();
        switch (path.TrimEnd('/'))
        {
            case "/api":
                await DiscoveryAsync(http, accept, _discovery.CoreAggregated, _discovery.CoreVersions).ConfigureAwait(false);
                return;
            case "/apis":
                await DiscoveryAsync(http, accept, _discovery.GroupsAggregated, _discovery.GroupList).ConfigureAwait(false);
                return;
            case "/openapi/v3":
                await Respond.BytesAsync(http, 200, _openApi.Index).ConfigureAwait(false);
                return;
        }
        if (path.StartsWith("/openapi/v3/", StringComparison.Ordinal))
        {
            var doc = _openApi.Find(path["/openapi/v3/".Length..]) ?? throw NotFound();
            await Respond.BytesAsync(http, 200, doc).ConfigureAwait(false);
            return;
        }
        var parts = path.Trim('/').Split('/');
        if (parts is ["api", var coreVersion])
        {
            await Respond.JsonAsync(http, 200, _discovery.ResourceList("", coreVersion) ?? throw NotFound()).ConfigureAwait(false);
            return;
        }
        if (parts is ["apis", var group])
        {
            await Respond.JsonAsync(http, 200, _discovery.Group(group) ?? throw NotFound()).ConfigureAwait(false);
            return;
        }
        if (parts is ["apis", var g, var v])
        {
            await Respond.JsonAsync(http, 200, _discovery.ResourceList(g, v) ?? throw NotFound()).ConfigureAwait(false);
            return;
        }
        var watch = http.Request.Query["watch"].ToString() is "true" or "1";
        var info = RequestInfo.Parse(http.Request.Method, path, watch) ?? throw NotFound();
        await _resources.HandleAsync(http, info).ConfigureAwait(false);
    }

    private static Task DiscoveryAsync(HttpContext http, string accept, JsonObject aggregated, JsonObject legacy)
    {
        if (MediaTypes.Accepts(accept, "APIGroupDiscoveryList", "apidiscovery.k8s.io", "v2"))
        {
            return Respond.JsonAsync(http, 200, aggregated, DiscoveryDocuments.AggregatedContentType);
        }
        if (MediaTypes.Accepts(accept, "APIGroupDiscoveryList", "apidiscovery.k8s.io", "v2beta1"))
        {
            var beta = (JsonObject)aggregated.DeepClone();
            beta["apiVersion"] = "apidiscovery.k8s.io/v2beta1";
            return Respond.JsonAsync(http, 200, beta, DiscoveryDocuments.AggregatedBetaContentType);
        }
        return Respond.JsonAsync(http, 200, legacy);
    }

    private static ApiException NotFound() => new(404, "NotFound", "the server could not find the requested resource");

    [LoggerMessage(1, LogLevel.Error, "{Method} {Path} failed")]
    private partial void LogInternalError(string method, string path, Exception exception);
}
