#include "stats/report.h"

#include "spec/fields.h"
#include "stats/statschema.h"

#include <cmath>

namespace initscope {

using json = nlohmann::json;

json jsonNumber(double v) {
    return std::isfinite(v) ? json(v) : json(nullptr);
}

json jsonNumbers(const std::vector<double>& v) {
    json a = json::array();
    for (double x : v)
        a.push_back(jsonNumber(x));
    return a;
}

json layerToJson(const LayerStats& s, bool withHistogram) {
    json o;
    o["index"] = s.index;
    o["width"] = s.width;
    for (const LayerStatistic& stat : layerStatistics()) {
        if (stat.kind == StatKind::Count)
            o[stat.key] = s.*stat.count;
        else
            o[stat.key] = jsonNumber(s.*stat.real);
    }
    if (withHistogram) {
        json h;
        h["lo"] = s.histogram.lo;
        h["hi"] = s.histogram.hi;
        h["counts"] = s.histogram.counts;
        h["below"] = s.histogram.below;
        h["above"] = s.histogram.above;
        o["histogram"] = h;
    }
    return o;
}

json theoryToJson(const TheoryCurves& t) {
    json o;
    o["applicable"] = t.applicable;
    if (!t.note.empty())
        o["note"] = t.note;
    o["q0"] = jsonNumber(t.q0);
    o["c0"] = jsonNumber(t.c0);
    o["q"] = jsonNumbers(t.q);
    o["c"] = jsonNumbers(t.c);
    o["grad_h2"] = jsonNumbers(t.gradH2);
    o["grad_ratio"] = jsonNumbers(t.gradRatio);
    if (!t.inputGrad2.empty()) // an rnn's per time step
        o["input_grad2"] = jsonNumbers(t.inputGrad2);
    o["chi1"] = jsonNumber(t.chi1);
    o["q_star"] = jsonNumber(t.qStar);
    o["c_star"] = jsonNumber(t.cStar);
    o["xi_q"] = jsonNumber(t.xiQ);
    o["xi_c"] = jsonNumber(t.xiC);
    o["phase"] = t.phase;
    return o;
}

std::string nonfiniteMessage(const RunResult& r) {
    if (r.firstNonfiniteLayer == 0)
        return {};
    const LayerStats& s = r.layers[static_cast<std::size_t>(r.firstNonfiniteLayer - 1)];
    const std::string stage = r.spec.arch == Arch::Resnet ? "block "
                              : r.spec.arch == Arch::Rnn  ? "time step "
                                                          : "layer ";
    if (s.nonfinite > 0)
        return "non-finite from " + stage + std::to_string(r.firstNonfiniteLayer) +
               " (float32 overflow in the forward pass)";
    return "non-finite gradient from " + stage + std::to_string(r.firstNonfiniteLayer) +
           " (float32 overflow in the backward pass)";
}

json resultToJson(const RunResult& r, bool withHistograms) {
    json o;
    o["spec"] = specToJson(r.spec);
    json layers = json::array();
    const bool blocks = r.spec.arch == Arch::Resnet;
    for (const LayerStats& s : r.layers) {
        layers.push_back(layerToJson(s, withHistograms));
        if (blocks) // q_F / q^{l-1} of each residual block
            layers.back()["branch_ratio"] = jsonNumber(s.branchRatio);
        if (r.spec.arch == Arch::Rnn) // ||dLoss/dx_t||^2 of each time step
            layers.back()["input_grad2"] = jsonNumber(s.inputGrad2);
    }
    o["layers"] = layers;
    o["arch"] = archName(r.spec.arch);
    // what one entry of "layers" is
    o["stage"] = blocks ? "block" : r.spec.arch == Arch::Rnn ? "time step" : "layer";
    o["theory"] = theoryToJson(r.theory);
    o["input_grad2"] = jsonNumber(r.inputGrad2);
    o["critical_input_scale"] = jsonNumber(r.criticalInputScale);
    o["critical_input_scale_note"] = r.criticalInputScaleNote;
    o["first_nonfinite_layer"] = r.firstNonfiniteLayer;
    o["message"] = nonfiniteMessage(r);
    o["seconds"] = r.seconds;
    if (!r.heads.empty()) { // only with heads: every run without them prints as before
        json heads = json::array();
        for (const HeadStats& h : r.heads) {
            json ho;
            ho["name"] = h.name;
            ho["out_mean"] = jsonNumber(h.outMean);
            ho["out_std"] = jsonNumber(h.outStd);
            json hl = json::array();
            for (const LayerStats& s : h.layers)
                hl.push_back(layerToJson(s, withHistograms));
            ho["layers"] = hl;
            heads.push_back(std::move(ho));
        }
        o["heads"] = heads;
    }
    return o;
}

} // namespace initscope
