using System.Text.Json.Nodes;

namespace Berth.Client.Manifests;

/// <summary>One object ready to apply: where it goes, and what was stored there at its dry run (null: nothing yet).</summary>
public sealed record PlannedApply(ManifestObject Object, ResourceMapping Mapping, JsonObject? Stored)
{
    /// <summary>The namespace it lands in: metadata.namespace, else <c>default</c> (kubectl's), none when cluster-scoped.</summary>
    public string? Namespace => Mapping.Namespaced ? Object.Namespace ?? "default" : null;

    /// <summary>
    /// <c>kind/name</c> in kubectl's lower-case form, e.g. <c>deployment/quote</c>, with <c>-n NAMESPACE</c> after it
    /// outside <c>default</c>: two objects of a kind may share a name in different namespaces.
    /// </summary>
    public string Key => $"{Object.Kind.ToLowerInvariant()}/{Object.Name}{(Namespace is { } ns && ns != "default" ? " -n " + ns : "")}";
}

/// <summary>An object the server refused (in <paramref name="Namespace"/>, null when cluster-scoped), with the server's reasons.</summary>
public sealed record ApplyFailure(ManifestObject Object, string? Namespace, string Message)
{
    /// <summary><c>FILE: document N: Kind NAMESPACE/NAME: message</c>.</summary>
    public override string ToString() =>
        $"{Object.Origin}: {Object.Kind} {(Namespace is { } ns ? ns + "/" : "")}{Object.Name}: {Message}";
}

public enum ApplyOutcome
{
    Created,
    Configured,
    Unchanged,
}

/// <summary>What a real apply did to one object: an outcome, or the error that stopped it.</summary>
public sealed record ApplyResult(PlannedApply Planned, ApplyOutcome? Outcome, string? Error);

/// <summary>
/// Applies a manifest set with server-side apply (<c>kubectl apply --server-side --force-conflicts</c>), all or
/// nothing as far as the server can tell beforehand: every object is first sent with <c>dryRun=All</c>, which runs
/// the same decoding, defaulting, validation and admission as the real request without storing anything.
/// </summary>
public sealed class ManifestApplier(KubeClient client, string fieldManager)
{
    private readonly ResourceDiscovery _discovery = new(client);

    /// <summary>
    /// Maps and dry-runs every object (in install order: <see cref="InstallOrder"/>). A failure is every object the
    /// server does not know or refuses; an object in a namespace the set itself creates is not refused for that
    /// namespace not existing yet.
    /// </summary>
    public async Task<(IReadOnlyList<PlannedApply> Plan, IReadOnlyList<ApplyFailure> Failures)> DryRunAsync(IReadOnlyList<ManifestObject> objects, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(objects);
        var sorted = InstallOrder.Sort(objects);
        var createdNamespaces = sorted.Where(o => o.Kind == "Namespace" && o.ApiVersion == "v1").Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
        var mappings = new List<(ManifestObject Object, ResourceMapping? Mapping, string? Error)>();
        foreach (var obj in sorted)
        {
            var (mapping, error) = await _discovery.FindAsync(obj.ApiVersion, obj.Kind, ct).ConfigureAwait(false);
            mappings.Add((obj, mapping, error));
        }
        var results = await Task.WhenAll(mappings.Select(async Task<(PlannedApply? Planned, ApplyFailure? Failure)> (m) =>
        {
            if (m.Mapping is null)
            {
                return (null, new ApplyFailure(m.Object, m.Object.Namespace, m.Error!));
            }
            var ns = m.Mapping.Namespaced ? m.Object.Namespace ?? "default" : null;
            try
            {
                var stored = await TryGetAsync(m.Mapping.ObjectPath(ns, m.Object.Name), ct).ConfigureAwait(false);
                await SendAsync(m.Object, m.Mapping, dryRun: true, ct).ConfigureAwait(false);
                return (new PlannedApply(m.Object, m.Mapping, stored), null);
            }
            catch (KubeApiException e) when (e.StatusCode == 404 && ns is not null && createdNamespaces.Contains(ns)
                && e.Status?.Details?.Kind == "namespaces" && e.Status.Details.Name == ns)
            {
                return (new PlannedApply(m.Object, m.Mapping, null), null);
            }
            catch (Exception e) when (e is KubeApiException or HttpRequestException or TimeoutException)
            {
                return (null, new ApplyFailure(m.Object, ns, Describe(e)));
            }
        })).ConfigureAwait(false);
        return ([.. results.Where(r => r.Planned is not null).Select(r => r.Planned!)],
            [.. results.Where(r => r.Failure is not null).Select(r => r.Failure!)]);
    }

    /// <summary>
    /// Applies the plan in order, one object at a time (a namespace before what goes in it), reporting each as it
    /// is done. An object the server refuses now (something changed since the dry run) does not stop the others.
    /// </summary>
    public async Task<IReadOnlyList<ApplyResult>> ApplyAsync(IReadOnlyList<PlannedApply> plan, Action<ApplyResult> onResult, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(onResult);
        var results = new List<ApplyResult>();
        foreach (var planned in plan)
        {
            ApplyResult result;
            try
            {
                var (status, answer) = await SendAsync(planned.Object, planned.Mapping, dryRun: false, ct).ConfigureAwait(false);
                result = new ApplyResult(planned, Outcome(status, planned, answer), null);
            }
            catch (Exception e) when (e is KubeApiException or HttpRequestException or TimeoutException)
            {
                result = new ApplyResult(planned, null, Describe(e));
            }
            results.Add(result);
            onResult(result);
        }
        return results;
    }

    /// <summary>
    /// kubectl's words for what an apply did: the object as the apply left it against the object stored at the dry
    /// run, status and bookkeeping aside (controllers and the node agent rewrite status, and with it the
    /// resourceVersion, at any time).
    /// </summary>
    internal static ApplyOutcome Outcome(int status, PlannedApply planned, JsonObject answer) =>
        status == 201 || planned.Stored is null ? ApplyOutcome.Created
        : JsonNode.DeepEquals(Content(planned.Stored), Content(answer)) ? ApplyOutcome.Unchanged
        : ApplyOutcome.Configured;

    private static JsonObject Content(JsonObject obj)
    {
        var content = (JsonObject)obj.DeepClone();
        content.Remove("status");
        if (content["metadata"] is JsonObject metadata)
        {
            metadata.Remove("resourceVersion");
            metadata.Remove("managedFields");
        }
        return content;
    }

    private async Task<JsonObject?> TryGetAsync(string path, CancellationToken ct)
    {
        try
        {
            return await client.GetRawAsync(path, ct).ConfigureAwait(false) as JsonObject;
        }
        catch (KubeApiException e) when (e.StatusCode == 404)
        {
            return null;
        }
    }

    /// <summary>The server's message for a refused request, with any cause it does not already spell out.</summary>
    public static string Describe(Exception e)
    {
        ArgumentNullException.ThrowIfNull(e);
        if (e is not KubeApiException { Status: { } status })
        {
            return e.Message;
        }
        var message = status.Message is { Length: > 0 } m ? m : e.Message;
        var extra = (status.Details?.Causes ?? [])
            .Where(c => c.Message is { Length: > 0 } && !message.Contains(c.Message, StringComparison.Ordinal))
            .Select(c => c.Field is { Length: > 0 } field ? $"{field}: {c.Message}" : c.Message!)
            .ToList();
        return extra.Count == 0 ? message : $"{message} ({string.Join("; ", extra)})";
    }

    private Task<(int StatusCode, JsonObject Object)> SendAsync(ManifestObject obj, ResourceMapping mapping, bool dryRun, CancellationToken ct)
    {
        var body = (JsonObject)obj.Object.DeepClone();
        var ns = mapping.Namespaced ? obj.Namespace ?? "default" : null;
        if (ns is not null)
        {
            // As kubectl: the object says where it goes, the same as the URL.
            ((JsonObject)body["metadata"]!)["namespace"] = ns;
        }
        return client.ServerSideApplyAsync(mapping.ObjectPath(ns, obj.Name), body, fieldManager, dryRun, ct);
    }
}
