using System.Net.Http.Headers;
using System.Text.Json.Nodes;

namespace Berth.Client;

public sealed partial class KubeClient
{
    private static readonly MediaTypeHeaderValue s_applyPatch = new("application/apply-patch+yaml");

    /// <summary>GETs a path as JSON (discovery documents and other kinds the typed table does not cover).</summary>
    public async Task<JsonNode> GetRawAsync(string path, CancellationToken ct = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var body = await SendForBytesAsync(HttpMethod.Get, path.TrimStart('/'), null, ct).ConfigureAwait(false);
        return JsonNode.Parse(body) ?? throw new InvalidOperationException($"GET {path}: the server answered null");
    }

    /// <summary>
    /// Server-side apply of <paramref name="obj"/> to an object path (<c>kubectl apply --server-side --force-conflicts</c>);
    /// JSON is YAML, so the object goes as it is. Returns the HTTP status (201: the apply created the object) and the
    /// object the server answered with. <paramref name="dryRun"/> sends <c>dryRun=All</c>: validated, admitted, not stored.
    /// </summary>
    public async Task<(int StatusCode, JsonObject Object)> ServerSideApplyAsync(string objectPath, JsonObject obj, string fieldManager, bool dryRun, CancellationToken ct = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(objectPath);
        ArgumentNullException.ThrowIfNull(obj);
        ArgumentException.ThrowIfNullOrEmpty(fieldManager);
        var content = new ByteArrayContent(System.Text.Encoding.UTF8.GetBytes(obj.ToJsonString()));
        content.Headers.ContentType = s_applyPatch;
        var path = $"{objectPath.TrimStart('/')}?fieldManager={Uri.EscapeDataString(fieldManager)}&force=true" + (dryRun ? "&dryRun=All" : "");
        var (status, body) = await SendForStatusAndBytesAsync(HttpMethod.Patch, path, content, ct).ConfigureAwait(false);
        return (status, JsonNode.Parse(body) as JsonObject ?? throw new InvalidOperationException($"PATCH {path}: the answer is not an object"));
    }
}
