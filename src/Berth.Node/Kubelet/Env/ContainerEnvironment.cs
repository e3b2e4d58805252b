using System.Text;
using Berth.Api.Models;

namespace Berth.Node.Kubelet.Env;

/// <summary>
/// A container's environment (upstream <c>pkg/kubelet/kubelet_pods.go</c> makeEnvironmentVariables): Service
/// variables, then <c>envFrom</c>, then <c>env</c> in order, each <c>$(VAR)</c> expanded against what is defined so far.
/// A later definition of a name replaces the earlier value where it stands.
/// </summary>
public static class ContainerEnvironment
{
    public static async Task<EnvironmentResult> BuildAsync(Pod pod, Container container, EnvironmentSources sources, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(pod);
        ArgumentNullException.ThrowIfNull(container);
        ArgumentNullException.ThrowIfNull(sources);
        var ns = pod.Metadata?.Namespace ?? "";
        var env = new OrderedEnvironment();
        foreach (var (name, value) in ServiceEnvironment.Build(sources.Services, ns, pod.Spec?.EnableServiceLinks ?? true))
        {
            env.Set(name, value);
        }

        var objects = new ObjectReader(sources, ns);
        var warnings = new List<string>();
        foreach (var envFrom in container.EnvFrom ?? [])
        {
            string kind;
            string name;
            Lookup lookup;
            if (envFrom.ConfigMapRef is { } configMapRef)
            {
                (kind, name) = ("configMap", configMapRef.Name ?? "");
                lookup = await objects.ConfigMapAsync(name, configMapRef.Optional == true, ct).ConfigureAwait(false);
            }
            else if (envFrom.SecretRef is { } secretRef)
            {
                (kind, name) = ("secret", secretRef.Name ?? "");
                lookup = await objects.SecretAsync(name, secretRef.Optional == true, ct).ConfigureAwait(false);
            }
            else
            {
                continue;
            }

            if (lookup.Error is not null)
            {
                return EnvironmentResult.Failure(lookup.Error);
            }

            if (lookup.Data is null)
            {
                continue;
            }

            // Upstream (since 1.30, relaxed names) takes every key; only what a process environment
            // cannot hold at all is skipped here, reported as upstream reported invalid names before.
            var badNames = new List<string>();
            var badValues = new List<string>();
            foreach (var (key, value) in lookup.Data.OrderBy(e => e.Key, StringComparer.Ordinal))
            {
                var variable = (envFrom.Prefix ?? "") + key;
                if (!IsProcessEnvironmentName(variable))
                {
                    badNames.Add(variable);
                }
                else if (value.Contains('\0'))
                {
                    badValues.Add(variable);
                }
                else
                {
                    env.Set(variable, value);
                }
            }

            if (badNames.Count > 0)
            {
                warnings.Add($"Keys [{string.Join(", ", badNames)}] from the EnvFrom {kind} {ns}/{name} were skipped since they are considered invalid environment variable names.");
            }

            if (badValues.Count > 0)
            {
                warnings.Add($"Keys [{string.Join(", ", badValues)}] from the EnvFrom {kind} {ns}/{name} were skipped since their values contain a NUL byte, which a process environment cannot hold.");
            }
        }

        foreach (var variable in container.Env ?? [])
        {
            var name = variable.Name ?? "";
            string value;
            if (!string.IsNullOrEmpty(variable.Value))
            {
                value = VariableExpansion.Expand(variable.Value, env.Get);
            }
            else if (variable.ValueFrom is { } from)
            {
                var resolved = await ResolveAsync(from, pod, container, sources, objects, ns, ct).ConfigureAwait(false);
                if (resolved.Error is not null)
                {
                    return EnvironmentResult.Failure(resolved.Error);
                }

                // An optional reference to something missing defines nothing.
                if (resolved.Value is null)
                {
                    continue;
                }

                value = resolved.Value;
            }
            else
            {
                value = "";
            }

            if (!IsProcessEnvironmentName(name))
            {
                return EnvironmentResult.Failure($"environment variable name \"{name}\" cannot be set on a process: it is empty or holds '=' or a NUL byte");
            }

            if (value.Contains('\0'))
            {
                return EnvironmentResult.Failure($"environment variable \"{name}\" cannot be set on a process: its value holds a NUL byte");
            }

            env.Set(name, value);
        }

        return EnvironmentResult.Success(env.ToList(), warnings);
    }

    private static async Task<(string? Value, string? Error)> ResolveAsync(EnvVarSource from, Pod pod, Container container, EnvironmentSources sources, ObjectReader objects, string ns, CancellationToken ct)
    {
        string value;
        string error;
        if (from.FieldRef is { } fieldRef)
        {
            return DownwardApi.TryPodField(fieldRef, pod, sources.PodIPs, sources.HostIPs, out value, out error) ? (value, null) : (null, error);
        }

        if (from.ResourceFieldRef is { } resourceRef)
        {
            return DownwardApi.TryContainerResource(resourceRef, pod, container, sources.NodeAllocatable, out value, out error) ? (value, null) : (null, error);
        }

        if (from.ConfigMapKeyRef is { } configMapKey)
        {
            var optional = configMapKey.Optional == true;
            var lookup = await objects.ConfigMapAsync(configMapKey.Name ?? "", optional, ct).ConfigureAwait(false);
            return FromKey(lookup, configMapKey.Key ?? "", optional, $"ConfigMap {ns}/{configMapKey.Name}");
        }

        if (from.SecretKeyRef is { } secretKey)
        {
            var optional = secretKey.Optional == true;
            var lookup = await objects.SecretAsync(secretKey.Name ?? "", optional, ct).ConfigureAwait(false);
            return FromKey(lookup, secretKey.Key ?? "", optional, $"Secret {ns}/{secretKey.Name}");
        }

        // A source of a kind this node does not know (fileKeyRef) leaves the value empty, as upstream without the feature.
        return ("", null);
    }

    private static (string? Value, string? Error) FromKey(Lookup lookup, string key, bool optional, string what)
    {
        if (lookup.Error is not null || lookup.Data is null)
        {
            return (null, lookup.Error);
        }

        if (lookup.Data.TryGetValue(key, out var value))
        {
            return (value, null);
        }

        return optional ? (null, null) : (null, $"couldn't find key {key} in {what}");
    }

    // A name the kernel's "NAME=value" strings can carry; anything else is for the API to judge.
    private static bool IsProcessEnvironmentName(string name) =>
        name.Length > 0 && name.IndexOfAny(['=', '\0']) < 0;

    // Data is null with no error when an optional object is missing.
    private readonly record struct Lookup(IReadOnlyDictionary<string, string>? Data, string? Error);

    // Reads each ConfigMap and Secret once per container, as upstream's per-call maps do.
    private sealed class ObjectReader(EnvironmentSources sources, string ns)
    {
        private readonly Dictionary<string, IReadOnlyDictionary<string, string>> _configMaps = new(StringComparer.Ordinal);
        private readonly Dictionary<string, IReadOnlyDictionary<string, string>> _secrets = new(StringComparer.Ordinal);

        public async Task<Lookup> ConfigMapAsync(string name, bool optional, CancellationToken ct)
        {
            if (_configMaps.TryGetValue(name, out var cached))
            {
                return new(cached, null);
            }

            ConfigMap? configMap;
            try
            {
                configMap = await sources.GetConfigMap(ns, name, ct).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                return new(null, ex.Message);
            }

            if (configMap is null)
            {
                // The kubelet's watching object cache answers NotFound for resource "configmap".
                return new(null, optional ? null : $"configmap \"{name}\" not found");
            }

            // Only data: upstream leaves binaryData out of the environment.
            IReadOnlyDictionary<string, string> data = configMap.Data ?? [];
            _configMaps[name] = data;
            return new(data, null);
        }

        public async Task<Lookup> SecretAsync(string name, bool optional, CancellationToken ct)
        {
            if (_secrets.TryGetValue(name, out var cached))
            {
                return new(cached, null);
            }

            Secret? secret;
            try
            {
                secret = await sources.GetSecret(ns, name, ct).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                return new(null, ex.Message);
            }

            if (secret is null)
            {
                return new(null, optional ? null : $"secret \"{name}\" not found");
            }

            var data = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var (key, encoded) in secret.Data ?? [])
            {
                var bytes = new byte[(encoded.Length / 4 * 3) + 3];
                if (!Convert.TryFromBase64String(encoded, bytes, out var written))
                {
                    return new(null, $"secret {ns}/{name} has data under key {key} that is not base64");
                }

                data[key] = Encoding.UTF8.GetString(bytes, 0, written);
            }

            // The API server folds stringData into data on write; a Secret stored without that fold still reads the same.
            foreach (var (key, text) in secret.StringData ?? [])
            {
                data[key] = text;
            }

            _secrets[name] = data;
            return new(data, null);
        }
    }

    // Names in first-definition order; a redefinition replaces the value in place.
    private sealed class OrderedEnvironment
    {
        private readonly List<KeyValuePair<string, string>> _entries = [];
        private readonly Dictionary<string, int> _index = new(StringComparer.Ordinal);

        public string? Get(string name) => _index.TryGetValue(name, out var i) ? _entries[i].Value : null;

        public void Set(string name, string value)
        {
            if (_index.TryGetValue(name, out var i))
            {
                _entries[i] = new(name, value);
            }
            else
            {
                _index[name] = _entries.Count;
                _entries.Add(new(name, value));
            }
        }

        public List<KeyValuePair<string, string>> ToList() => [.. _entries];
    }
}
