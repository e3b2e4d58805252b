using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using Berth.Api.Models;
using Berth.Api.Serialization;

namespace Berth.Client;

/// <summary>
/// Typed REST calls to the API server (client-go's typed clients in one class): one <see cref="HttpClient"/> over a
/// pooled <see cref="SocketsHttpHandler"/> per instance, bearer-token authenticated, TLS trust per <see cref="KubeClientOptions"/>.
/// </summary>
public sealed partial class KubeClient : IDisposable
{
    // Unary requests get a deadline; watches are bounded only by the caller's token and the server's timeoutSeconds.
    private static readonly TimeSpan s_requestTimeout = TimeSpan.FromSeconds(60);
    private static readonly MediaTypeHeaderValue s_json = new("application/json");

    private readonly HttpClient _http;
    private readonly ServerTrust _trust;

    public KubeClient(KubeClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!JoinToken.TryParse(options.Token, out var secret, out var pin))
        {
            throw new ArgumentException("the token is empty or a malformed K10 join token", nameof(options));
        }

        Server = options.Server;
        _trust = new ServerTrust(options.Server, options.CertificateAuthority, options.CertificateAuthority is null ? pin : null);
        var handler = new SocketsHttpHandler
        {
            ConnectTimeout = TimeSpan.FromSeconds(10),
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(90),
        };
        _trust.Configure(handler);
        _http = new HttpClient(handler)
        {
            BaseAddress = options.Server.AbsoluteUri.EndsWith('/') ? options.Server : new Uri(options.Server.AbsoluteUri + "/"),
            Timeout = Timeout.InfiniteTimeSpan,
        };
        _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", secret);
        _http.DefaultRequestHeaders.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        _http.DefaultRequestHeaders.UserAgent.TryParseAdd(options.UserAgent ?? "berth");
    }

    public Uri Server { get; }

    public async Task<T> GetAsync<T>(string? ns, string name, CancellationToken ct = default)
        where T : class, IKubernetesObject
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        return await SendAsync<T>(HttpMethod.Get, ResourcePaths.For<T>().Path(ns, name), null, ct).ConfigureAwait(false);
    }

    /// <summary>As <see cref="GetAsync{T}"/>, null when the object does not exist.</summary>
    public async Task<T?> TryGetAsync<T>(string? ns, string name, CancellationToken ct = default)
        where T : class, IKubernetesObject
    {
        try
        {
            return await GetAsync<T>(ns, name, ct).ConfigureAwait(false);
        }
        catch (KubeApiException e) when (e.StatusCode == 404)
        {
            return null;
        }
    }

    public async Task<KubeList<T>> ListAsync<T>(string? ns, ListOptions? options = null, CancellationToken ct = default)
        where T : class, IKubernetesObject
    {
        var resource = ResourcePaths.For<T>();
        var path = resource.Path(ns) + Query(options, watch: false);
        var body = await SendForBytesAsync(HttpMethod.Get, path, null, ct).ConfigureAwait(false);
        var list = (IKubernetesList)KubeJson.Deserialize(body, resource.ListType);
        return new KubeList<T>(list.Metadata?.ResourceVersion ?? "", [.. list.EnumerateItems().Cast<T>()]);
    }

    /// <summary>Creates <paramref name="obj"/> in its <c>metadata.namespace</c> (<c>default</c> when unset, as kubectl).</summary>
    public Task<T> CreateAsync<T>(T obj, CancellationToken ct = default)
        where T : class, IKubernetesObject
    {
        ArgumentNullException.ThrowIfNull(obj);
        var resource = ResourcePaths.For<T>();
        return SendAsync<T>(HttpMethod.Post, resource.Path(NamespaceOf(resource, obj)), Json(obj), ct);
    }

    public Task<T> UpdateAsync<T>(T obj, CancellationToken ct = default)
        where T : class, IKubernetesObject => Put(obj, subresource: null, ct);

    public Task<T> UpdateStatusAsync<T>(T obj, CancellationToken ct = default)
        where T : class, IKubernetesObject => Put(obj, "status", ct);

    public Task<T> PatchAsync<T>(string? ns, string name, PatchType type, string patch, string? subresource = null, CancellationToken ct = default)
        where T : class, IKubernetesObject
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(patch);
        var content = new StringContent(patch, Encoding.UTF8);
        content.Headers.ContentType = new MediaTypeHeaderValue(type switch
        {
            PatchType.Merge => "application/merge-patch+json",
            PatchType.StrategicMerge => "application/strategic-merge-patch+json",
            PatchType.Json => "application/json-patch+json",
            _ => throw new ArgumentOutOfRangeException(nameof(type)),
        });
        return SendAsync<T>(HttpMethod.Patch, ResourcePaths.For<T>().Path(ns, name, subresource), content, ct);
    }

    public async Task DeleteAsync<T>(string? ns, string name, DeleteOptions? options = null, CancellationToken ct = default)
        where T : class, IKubernetesObject
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        var content = options is null ? null : Json(options);
        await SendForBytesAsync(HttpMethod.Delete, ResourcePaths.For<T>().Path(ns, name), content, ct).ConfigureAwait(false);
    }

    /// <summary>POSTs <paramref name="body"/> to a subresource, e.g. <c>pods/{name}/binding</c>.</summary>
    public async Task CreateSubresourceAsync<TBody>(string? ns, string name, string plural, string subresource, TBody body, CancellationToken ct = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentException.ThrowIfNullOrEmpty(plural);
        ArgumentException.ThrowIfNullOrEmpty(subresource);
        ArgumentNullException.ThrowIfNull(body);
        var resource = ResourcePaths.ForPlural(plural);
        await SendForBytesAsync(HttpMethod.Post, resource.Path(ns, name, subresource), Json(body), ct).ConfigureAwait(false);
    }

    public void Dispose()
    {
        _http.Dispose();
        _trust.Dispose();
    }

    private Task<T> Put<T>(T obj, string? subresource, CancellationToken ct)
        where T : class, IKubernetesObject
    {
        ArgumentNullException.ThrowIfNull(obj);
        var name = obj.Metadata?.Name;
        ArgumentException.ThrowIfNullOrEmpty(name, "obj.Metadata.Name");
        var resource = ResourcePaths.For<T>();
        return SendAsync<T>(HttpMethod.Put, resource.Path(NamespaceOf(resource, obj), name, subresource), Json(obj), ct);
    }

    private static string? NamespaceOf(Resource resource, IKubernetesObject obj) =>
        resource.Namespaced ? obj.Metadata?.Namespace ?? "default" : null;

    private static ByteArrayContent Json<TBody>(TBody body)
    {
        var content = new ByteArrayContent(KubeJson.SerializeToUtf8Bytes(body));
        content.Headers.ContentType = s_json;
        return content;
    }

    private static string Query(ListOptions? options, bool watch)
    {
        var query = new StringBuilder();
        void Add(string key, string? value)
        {
            if (!string.IsNullOrEmpty(value))
            {
                query.Append(query.Length == 0 ? '?' : '&').Append(key).Append('=').Append(Uri.EscapeDataString(value));
            }
        }

        if (watch)
        {
            Add("watch", "true");
        }
        Add("labelSelector", options?.LabelSelector);
        Add("fieldSelector", options?.FieldSelector);
        Add("resourceVersion", options?.ResourceVersion);
        Add("timeoutSeconds", options?.TimeoutSeconds?.ToString(CultureInfo.InvariantCulture));
        if (watch && options?.AllowWatchBookmarks == true)
        {
            Add("allowWatchBookmarks", "true");
        }
        return query.ToString();
    }

    private async Task<T> SendAsync<T>(HttpMethod method, string path, HttpContent? content, CancellationToken ct)
    {
        var body = await SendForBytesAsync(method, path, content, ct).ConfigureAwait(false);
        return KubeJson.Deserialize<T>(body);
    }

    private async Task<byte[]> SendForBytesAsync(HttpMethod method, string path, HttpContent? content, CancellationToken ct) =>
        (await SendForStatusAndBytesAsync(method, path, content, ct).ConfigureAwait(false)).Body;

    /// <summary>A unary request under the request deadline: the 2xx status (201 tells a create apart) and the body.</summary>
    private async Task<(int StatusCode, byte[] Body)> SendForStatusAndBytesAsync(HttpMethod method, string path, HttpContent? content, CancellationToken ct)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(s_requestTimeout);
        try
        {
            using var response = await SendRawAsync(method, path, content, HttpCompletionOption.ResponseContentRead, deadline.Token).ConfigureAwait(false);
            return ((int)response.StatusCode, await response.Content.ReadAsByteArrayAsync(deadline.Token).ConfigureAwait(false));
        }
        catch (OperationCanceledException e) when (!ct.IsCancellationRequested)
        {
            throw new TimeoutException($"{method} {path}: no answer within {s_requestTimeout.TotalSeconds:0} s", e);
        }
    }

    /// <summary>Sends a request and throws <see cref="KubeApiException"/> for a non-2xx answer.</summary>
    private async Task<HttpResponseMessage> SendRawAsync(HttpMethod method, string path, HttpContent? content, HttpCompletionOption completion, CancellationToken ct)
    {
        await _trust.EnsureReadyAsync(ct).ConfigureAwait(false);
        using var request = new HttpRequestMessage(method, path) { Content = content };
        var response = await _http.SendAsync(request, completion, ct).ConfigureAwait(false);
        if (response.IsSuccessStatusCode)
        {
            return response;
        }

        using (response)
        {
            var body = await response.Content.ReadAsByteArrayAsync(ct).ConfigureAwait(false);
            Status? status = null;
            try
            {
                status = body.Length == 0 ? null : KubeJson.Deserialize<Status>(body);
            }
            catch (System.Text.Json.JsonException)
            {
                // A proxy's HTML error page, not a Status: the code alone has to do.
            }
            throw new KubeApiException((int)response.StatusCode, status,
                $"{method} {path}: {(int)response.StatusCode} {response.ReasonPhrase}");
        }
    }
}
