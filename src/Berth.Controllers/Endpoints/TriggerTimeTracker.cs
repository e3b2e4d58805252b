using Berth.Api.Models;

namespace Berth.Controllers.Endpoints;

/// <summary>Upstream pkg/controller/util/endpoint/trigger_time_tracker.go (thread-safe).</summary>
public sealed class TriggerTimeTracker
{
    public DateTimeOffset? ComputeEndpointLastChangeTriggerTime(string ns, Service service, IEnumerable<Pod> pods) =>
        throw new NotImplementedException();

    public void DeleteService(string ns, string name) => throw new NotImplementedException();
}
