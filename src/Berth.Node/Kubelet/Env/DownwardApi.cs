using System.Globalization;
using System.Text;
using Berth.Api.Models;
using Berth.Api.Quantities;
using Berth.Api.Validation;

namespace Berth.Node.Kubelet.Env;

/// <summary>
/// Values of <c>fieldRef</c> and <c>resourceFieldRef</c> env sources, with upstream's messages
/// (<c>pkg/kubelet/kubelet_pods.go</c> podFieldSelectorRuntimeValue, <c>pkg/apis/core/pods/helpers.go</c>
/// ConvertDownwardAPIFieldLabel, <c>pkg/fieldpath/fieldpath.go</c>, <c>pkg/api/v1/resource/helpers.go</c>).
/// </summary>
internal static class DownwardApi
{
    private static readonly string[] s_allocatableDefaults = ["cpu", "memory", "ephemeral-storage"];

    public static bool TryPodField(ObjectFieldSelector selector, Pod pod, IReadOnlyList<string> podIPs, IReadOnlyList<string> hostIPs, out string value, out string error)
    {
        value = "";
        if (!TryConvertFieldLabel(selector.ApiVersion ?? "v1", selector.FieldPath ?? "", out var path, out error))
        {
            return false;
        }

        // The IPs come from the node agent (the pod's loopback address, the node's addresses), not from
        // pod.status, which may not have been written yet when the container starts.
        switch (path)
        {
            case "spec.nodeName":
                value = pod.Spec?.NodeName ?? "";
                return true;
            case "spec.serviceAccountName":
                value = pod.Spec?.ServiceAccountName ?? "";
                return true;
            case "status.hostIP":
                value = hostIPs.Count > 0 ? hostIPs[0] : "";
                return true;
            case "status.hostIPs":
                value = string.Join(',', hostIPs);
                return true;
            case "status.podIP":
                value = podIPs.Count > 0 ? podIPs[0] : "";
                return true;
            case "status.podIPs":
                value = string.Join(',', podIPs);
                return true;
            default:
                return TryExtractFieldPathAsString(pod.Metadata ?? new ObjectMeta(), path, out value, out error);
        }
    }

    public static bool TryConvertFieldLabel(string version, string label, out string path, out string error)
    {
        path = label;
        error = "";
        if (version != "v1")
        {
            error = $"unsupported pod version: {version}";
            return false;
        }

        if (TrySplitSubscriptedPath(label, out var subscripted, out _))
        {
            if (subscripted is "metadata.annotations" or "metadata.labels")
            {
                return true;
            }

            error = $"field label does not support subscript: {label}";
            return false;
        }

        switch (label)
        {
            case "metadata.annotations" or "metadata.labels" or "metadata.name" or "metadata.namespace" or "metadata.uid"
                or "spec.nodeName" or "spec.restartPolicy" or "spec.serviceAccountName" or "spec.schedulerName"
                or "status.phase" or "status.hostIP" or "status.hostIPs" or "status.podIP" or "status.podIPs":
                return true;
            case "spec.host":
                // Old v1 clients sent spec.host.
                path = "spec.nodeName";
                return true;
            default:
                error = $"field label not supported: {label}";
                return false;
        }
    }

    public static bool TryExtractFieldPathAsString(ObjectMeta metadata, string fieldPath, out string value, out string error)
    {
        value = "";
        error = "";
        if (TrySplitSubscriptedPath(fieldPath, out var path, out var subscript))
        {
            switch (path)
            {
                case "metadata.annotations":
                    // Annotation keys are checked in lower case: they may hold capitals a label key may not.
                    if (LabelValidation.IsQualifiedName(subscript.ToLowerInvariant()) is { Count: > 0 } annotationErrors)
                    {
                        error = $"invalid key subscript in {fieldPath}: {string.Join(';', annotationErrors)}";
                        return false;
                    }

                    value = metadata.Annotations?.GetValueOrDefault(subscript) ?? "";
                    return true;
                case "metadata.labels":
                    if (LabelValidation.IsQualifiedName(subscript) is { Count: > 0 } labelErrors)
                    {
                        error = $"invalid key subscript in {fieldPath}: {string.Join(';', labelErrors)}";
                        return false;
                    }

                    value = metadata.Labels?.GetValueOrDefault(subscript) ?? "";
                    return true;
                default:
                    error = $"fieldPath \"{fieldPath}\" does not support subscript";
                    return false;
            }
        }

        switch (fieldPath)
        {
            case "metadata.annotations":
                value = FormatMap(metadata.Annotations);
                return true;
            case "metadata.labels":
                value = FormatMap(metadata.Labels);
                return true;
            case "metadata.name":
                value = metadata.Name ?? "";
                return true;
            case "metadata.namespace":
                value = metadata.Namespace ?? "";
                return true;
            case "metadata.uid":
                value = metadata.Uid ?? "";
                return true;
            default:
                error = $"unsupported fieldPath: {fieldPath}";
                return false;
        }
    }

    // "metadata.annotations['a[b]c']" is ("metadata.annotations", "a[b]c"); a path without a subscript is not split.
    public static bool TrySplitSubscriptedPath(string fieldPath, out string path, out string subscript)
    {
        path = fieldPath;
        subscript = "";
        if (!fieldPath.EndsWith("']", StringComparison.Ordinal))
        {
            return false;
        }

        var trimmed = fieldPath[..^2];
        var open = trimmed.IndexOf("['", StringComparison.Ordinal);
        if (open <= 0)
        {
            return false;
        }

        path = trimmed[..open];
        subscript = trimmed[(open + 2)..];
        return true;
    }

    // One key="value" line per entry, keys in order, values quoted as Go's %q does.
    public static string FormatMap(IReadOnlyDictionary<string, string>? map)
    {
        if (map is null || map.Count == 0)
        {
            return "";
        }

        return string.Join('\n', map.OrderBy(e => e.Key, StringComparer.Ordinal).Select(e => $"{e.Key}={GoQuote(e.Value)}"));
    }

    public static bool TryContainerResource(ResourceFieldSelector selector, Pod pod, Container container, IReadOnlyDictionary<string, string> allocatable, out string value, out string error)
    {
        value = "";
        error = "";
        var target = container;
        if (!string.IsNullOrEmpty(selector.ContainerName))
        {
            var found = (pod.Spec?.Containers ?? []).Concat(pod.Spec?.InitContainers ?? []).FirstOrDefault(c => c.Name == selector.ContainerName);
            if (found is null)
            {
                error = $"container {selector.ContainerName} not found";
                return false;
            }

            target = found;
        }

        var divisor = 1m;
        if (!string.IsNullOrEmpty(selector.Divisor))
        {
            if (!Quantity.TryParse(selector.Divisor, out divisor, out error))
            {
                return false;
            }

            // An unset (zero) divisor means 1.
            if (divisor == 0)
            {
                divisor = 1m;
            }
        }

        var resource = selector.Resource ?? "";
        var (kind, name) = resource.IndexOf('.') is var dot and > 0 ? (resource[..dot], resource[(dot + 1)..]) : ("", "");
        if (kind is not ("limits" or "requests") || !(s_allocatableDefaults.Contains(name) || name.StartsWith("hugepages-", StringComparison.Ordinal)))
        {
            error = $"unsupported container resource : {resource}";
            return false;
        }

        if (!TryResourceQuantity(target.Resources, kind, name, allocatable, out var quantity, out error))
        {
            return false;
        }

        // CPU counts in millicores, everything else in whole units; both round the ratio up.
        var ratio = name == "cpu"
            ? (decimal)Quantity.MilliValue(quantity) / Quantity.MilliValue(divisor)
            : (decimal)Quantity.Value(quantity) / Quantity.Value(divisor);
        value = Quantity.Value(ratio).ToString(CultureInfo.InvariantCulture);
        return true;
    }

    private static bool TryResourceQuantity(ResourceRequirements? resources, string kind, string name, IReadOnlyDictionary<string, string> allocatable, out decimal quantity, out string error)
    {
        quantity = 0;
        error = "";
        var limit = resources?.Limits?.GetValueOrDefault(name);
        string? text;
        if (kind == "limits")
        {
            text = limit;
            // A container without a limit may use what the node has (upstream MergeContainerResourceLimits).
            if (s_allocatableDefaults.Contains(name) && !TryIsNonZero(limit) && allocatable.TryGetValue(name, out var nodeValue))
            {
                text = nodeValue;
            }
        }
        else
        {
            // API defaulting gives a request the limit's value when only the limit is written.
            text = resources?.Requests?.GetValueOrDefault(name) ?? limit;
        }

        return string.IsNullOrEmpty(text) || Quantity.TryParse(text, out quantity, out error);
    }

    private static bool TryIsNonZero(string? text) =>
        !string.IsNullOrEmpty(text) && Quantity.TryParse(text, out var value, out _) && value != 0;

    // Go's strconv.Quote: printable characters as they are, the rest escaped.
    private static string GoQuote(string value)
    {
        var builder = new StringBuilder(value.Length + 2).Append('"');
        foreach (var rune in value.EnumerateRunes())
        {
            switch (rune.Value)
            {
                case '"': builder.Append("\\\""); break;
                case '\\': builder.Append("\\\\"); break;
                case '\a': builder.Append("\\a"); break;
                case '\b': builder.Append("\\b"); break;
                case '\f': builder.Append("\\f"); break;
                case '\n': builder.Append("\\n"); break;
                case '\r': builder.Append("\\r"); break;
                case '\t': builder.Append("\\t"); break;
                case '\v': builder.Append("\\v"); break;
                case < 0x20 or 0x7f: builder.Append(CultureInfo.InvariantCulture, $"\\x{rune.Value:x2}"); break;
                default:
                    if (Rune.IsControl(rune))
                    {
                        builder.Append((rune.Value > 0xffff ? "\\U" : "\\u") + rune.Value.ToString(rune.Value > 0xffff ? "x8" : "x4", CultureInfo.InvariantCulture));
                    }
                    else
                    {
                        builder.Append(rune.ToString());
                    }

                    break;
            }
        }

        return builder.Append('"').ToString();
    }
}
