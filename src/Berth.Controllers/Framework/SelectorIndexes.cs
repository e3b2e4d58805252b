using Berth.Api.Models;
using Berth.Client;

namespace Berth.Controllers.Framework;

/// <summary>
/// Label indexes so "services selecting this pod" and "pods this selector picks" are lookups, not scans
/// (10,000 Services in one namespace must not cost 10,000 selector matches per pod event). Upstream lists every
/// Service of the namespace and matches each (endpointutil.GetPodServiceMemberships); the answers here are the same.
/// Index values are "ns/key=value" (label keys hold no '=', so the value is unambiguous); the informer moves an object
/// between values when its labels or selector change.
/// </summary>
public static class SelectorIndexes
{
    private const string PodLabelsIndex = "selector:podLabels";
    private const string ServiceSelectorsIndex = "selector:serviceSelectors";

    // The index value of Services with an empty selector ({}), which select every pod of their namespace.
    private const string SelectsAll = "*";

    /// <summary>Indexes pods under every label they carry.</summary>
    public static void AddPodLabels(Informer<Pod> pods) =>
        SharedIndex.Add(pods, PodLabelsIndex, static pod =>
            pod.Metadata?.Labels is { Count: > 0 } labels ? labels.Select(l => Value(pod.Metadata.Namespace, l.Key, l.Value)) : []);

    /// <summary>
    /// The pods of <paramref name="ns"/> whose labels include every pair of <paramref name="selector"/> (an empty
    /// selector picks them all). Needs <see cref="AddPodLabels"/>.
    /// </summary>
    public static List<Pod> PodsSelectedBy(Informer<Pod> pods, string ns, IReadOnlyDictionary<string, string> selector)
    {
        ArgumentNullException.ThrowIfNull(pods);
        ArgumentNullException.ThrowIfNull(selector);
        if (selector.Count == 0)
        {
            return [.. pods.List(ns)];
        }
        // Each pair's pods are candidates; the smallest set is the cheapest to check against the whole selector.
        IReadOnlyList<Pod>? smallest = null;
        foreach (var (key, value) in selector)
        {
            var candidates = pods.ByIndex(PodLabelsIndex, Value(ns, key, value));
            if (candidates.Count == 0)
            {
                return [];
            }
            if (smallest is null || candidates.Count < smallest.Count)
            {
                smallest = candidates;
            }
        }
        return [.. smallest!.Where(pod => Matches(selector, pod.Metadata?.Labels))];
    }

    /// <summary>
    /// Indexes Services by one pair of their selector (the ordinally first key: any pod they select carries it), those
    /// with an empty selector under "ns/*", and those without a selector (nil selects nothing) not at all.
    /// </summary>
    public static void AddServiceSelectors(Informer<Service> services) =>
        SharedIndex.Add(services, ServiceSelectorsIndex, static service => service.Spec?.Selector switch
        {
            null => [],
            { Count: 0 } => [service.Metadata?.Namespace + "/" + SelectsAll],
            var selector => [FirstPair(service.Metadata?.Namespace, selector)],
        });

    /// <summary>
    /// Services of the pod's namespace whose non-null selector matches the pod's labels ({} matches every pod).
    /// Needs <see cref="AddServiceSelectors"/>.
    /// </summary>
    public static List<Service> ServicesSelecting(Informer<Service> services, Pod pod)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(pod);
        var ns = pod.Metadata?.Namespace;
        var labels = pod.Metadata?.Labels;
        List<Service> result = [.. services.ByIndex(ServiceSelectorsIndex, ns + "/" + SelectsAll)];
        // A Service is indexed under one pair only, so it is found through at most one of the pod's labels: no duplicates.
        foreach (var (key, value) in labels ?? [])
        {
            foreach (var service in services.ByIndex(ServiceSelectorsIndex, Value(ns, key, value)))
            {
                if (Matches(service.Spec!.Selector!, labels))
                {
                    result.Add(service);
                }
            }
        }
        return result;
    }

    private static string Value(string? ns, string key, string value) => ns + "/" + key + "=" + value;

    private static string FirstPair(string? ns, Dictionary<string, string> selector)
    {
        var first = selector.Keys.Min(StringComparer.Ordinal)!;
        return Value(ns, first, selector[first]);
    }

    private static bool Matches(IReadOnlyDictionary<string, string> selector, Dictionary<string, string>? labels)
    {
        foreach (var (key, value) in selector)
        {
            if (labels is null || !labels.TryGetValue(key, out var actual) || actual != value)
            {
                return false;
            }
        }
        return true;
    }
}
