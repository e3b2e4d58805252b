using Berth.Api.Models;
using Berth.Api.Quantities;

namespace Berth.Controllers.Scheduler;

/// <summary>
/// An amount of each resource as the scheduler counts it (upstream framework.Resource): cpu in millicores, memory and
/// ephemeral storage in bytes, allowed pods, and scalar resources (extended resources, hugepages) by name.
/// </summary>
internal sealed class Resources
{
    // schedutil.DefaultMilliCPURequest / DefaultMemoryRequest: what a container without a request counts as when
    // spreading load, so many request-less pods do not pile onto one node.
    internal const long DefaultMilliCpuRequest = 100;
    internal const long DefaultMemoryRequest = 200L * 1024 * 1024;

    private static readonly Dictionary<string, string> s_empty = [];
    private static readonly Dictionary<string, long> s_noScalars = [];

    public long MilliCpu { get; set; }

    public long Memory { get; set; }

    public long EphemeralStorage { get; set; }

    public long AllowedPods { get; set; }

    public Dictionary<string, long>? Scalars { get; set; }

    public long Scalar(string name) => Scalars?.GetValueOrDefault(name) ?? 0;

    /// <summary>framework.Resource.Add over a ResourceList (quantities as the API writes them).</summary>
    public void Add(IReadOnlyDictionary<string, string>? list)
    {
        foreach (var (name, text) in list ?? s_empty)
        {
            // The API server has validated the quantity, so one that does not parse counts as nothing.
            if (!Quantity.TryParse(text, out var quantity))
            {
                continue;
            }
            switch (name)
            {
                case "cpu":
                    MilliCpu += Quantity.MilliValue(quantity);
                    break;
                case "memory":
                    Memory += Quantity.Value(quantity);
                    break;
                case "ephemeral-storage":
                    EphemeralStorage += Quantity.Value(quantity);
                    break;
                case "pods":
                    AllowedPods += Quantity.Value(quantity);
                    break;
                default:
                    if (IsScalarResourceName(name))
                    {
                        Scalars ??= new(StringComparer.Ordinal);
                        Scalars[name] = Scalar(name) + Quantity.Value(quantity);
                    }
                    break;
            }
        }
    }

    public void Add(Resources other)
    {
        MilliCpu += other.MilliCpu;
        Memory += other.Memory;
        EphemeralStorage += other.EphemeralStorage;
        AllowedPods += other.AllowedPods;
        foreach (var (name, value) in other.Scalars ?? s_noScalars)
        {
            Scalars ??= new(StringComparer.Ordinal);
            Scalars[name] = Scalar(name) + value;
        }
    }

    public void Subtract(Resources other)
    {
        MilliCpu -= other.MilliCpu;
        Memory -= other.Memory;
        EphemeralStorage -= other.EphemeralStorage;
        AllowedPods -= other.AllowedPods;
        foreach (var (name, value) in other.Scalars ?? s_noScalars)
        {
            Scalars ??= new(StringComparer.Ordinal);
            Scalars[name] = Scalar(name) - value;
        }
    }

    /// <summary>maxResourceList: each resource becomes the larger of the two.</summary>
    public void SetMax(Resources other)
    {
        MilliCpu = Math.Max(MilliCpu, other.MilliCpu);
        Memory = Math.Max(Memory, other.Memory);
        EphemeralStorage = Math.Max(EphemeralStorage, other.EphemeralStorage);
        AllowedPods = Math.Max(AllowedPods, other.AllowedPods);
        foreach (var (name, value) in other.Scalars ?? s_noScalars)
        {
            Scalars ??= new(StringComparer.Ordinal);
            Scalars[name] = Math.Max(Scalar(name), value);
        }
    }

    public Resources Clone() => new()
    {
        MilliCpu = MilliCpu,
        Memory = Memory,
        EphemeralStorage = EphemeralStorage,
        AllowedPods = AllowedPods,
        Scalars = Scalars is null ? null : new(Scalars, StringComparer.Ordinal),
    };

    /// <summary>
    /// resourcehelper.PodRequests: the containers' requests summed, restartable (sidecar) init containers added to
    /// them, then the maximum with each regular init container (plus the sidecars started before it), plus the
    /// pod overhead. With <paramref name="nonMissing"/>, a container without a cpu or memory request counts the
    /// scheduler's defaults (the NonZeroRequested used for scoring).
    /// </summary>
    public static Resources PodRequests(PodSpec? spec, bool nonMissing = false)
    {
        var requests = new Resources();
        foreach (var container in spec?.Containers ?? [])
        {
            requests.Add(ContainerRequests(container, nonMissing));
        }

        var sidecars = new Resources();
        var init = new Resources();
        foreach (var container in spec?.InitContainers ?? [])
        {
            var own = ContainerRequests(container, nonMissing);
            Resources use;
            if (container.RestartPolicy == "Always")
            {
                requests.Add(own);
                sidecars.Add(own);
                use = sidecars;
            }
            else
            {
                use = own.Clone();
                use.Add(sidecars);
            }
            init.SetMax(use);
        }
        requests.SetMax(init);
        requests.Add(spec?.Overhead);
        return requests;
    }

    /// <summary>
    /// schedutil.IsScalarResourceName: extended resources (a domain-prefixed name outside kubernetes.io), prefixed
    /// native resources (*kubernetes.io/*), hugepages-* and attachable-volumes-*.
    /// </summary>
    internal static bool IsScalarResourceName(string name) =>
        (name.Contains('/', StringComparison.Ordinal) && !name.StartsWith("requests.", StringComparison.Ordinal))
        || name.StartsWith("hugepages-", StringComparison.Ordinal)
        || name.StartsWith("attachable-volumes-", StringComparison.Ordinal);

    private static Resources ContainerRequests(Container container, bool nonMissing)
    {
        var own = new Resources();
        var requests = container.Resources?.Requests;
        own.Add(requests);
        if (nonMissing)
        {
            // applyNonMissing: only a request that is absent takes the default; an explicit 0 stays 0.
            if (requests?.ContainsKey("cpu") != true)
            {
                own.MilliCpu = DefaultMilliCpuRequest;
            }
            if (requests?.ContainsKey("memory") != true)
            {
                own.Memory = DefaultMemoryRequest;
            }
        }
        return own;
    }
}
