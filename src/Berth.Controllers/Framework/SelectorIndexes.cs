using Berth.Api.Models;
using Berth.Client;

namespace Berth.Controllers.Framework;

/// <summary>
/// Label indexes so "services selecting this pod" and "pods this selector picks" are lookups, not scans
/// (10,000 Services in one namespace must not cost 10,000 selector matches per pod event).
/// </summary>
public static class SelectorIndexes
{
    public static void AddPodLabels(Informer<Pod> pods) => throw new NotImplementedException();

    public static List<Pod> PodsSelectedBy(Informer<Pod> pods, string ns, IReadOnlyDictionary<string, string> selector) =>
        throw new NotImplementedException();

    public static void AddServiceSelectors(Informer<Service> services) => throw new NotImplementedException();

    /// <summary>Services of the pod's namespace whose non-null selector matches the pod's labels ({} matches every pod).</summary>
    public static List<Service> ServicesSelecting(Informer<Service> services, Pod pod) => throw new NotImplementedException();
}
