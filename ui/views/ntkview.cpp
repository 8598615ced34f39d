#include "views/ntkview.h"

#include "charts/colormap.h"
#include "charts/viewcharts.h"
#include "spec/preset.h"

#include <QChart>
#include <QChartView>
#include <QComboBox>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineSeries>
#include <QLogValueAxis>
#include <QSignalBlocker>
#include <QSpinBox>
#include <QStackedWidget>
#include <QVBoxLayout>
#include <QValueAxis>

#include <algorithm>
#include <cmath>

namespace initscope::ui {

namespace {
/// "depth 20" of an mlp, "20 blocks" of a resnet: what the kernel's network is.
QString depthText(const NetworkSpec& spec) {
    return spec.arch == Arch::Resnet ? NtkView::tr("%1 blocks").arg(spec.depth)
                                     : NtkView::tr("depth %1").arg(spec.depth);
}
QString num(double v) {
    return std::isfinite(v) ? QString::number(v, 'g', 4)
                            : (v > 0 ? QStringLiteral("\u221e") : QStringLiteral("n/a"));
}

/// The kernel as an image, row a = input a from the top (rendered on the worker thread).
/// Coloured relative to its diagonal, Theta_ab / sqrt(Theta_aa Theta_bb), on the fixed scale
/// 0..1 (-1..1 when an entry is negative): a kernel whose entries all lie within 0.02 % of each
/// other (rank one, what a deep ordered network gives) is one flat colour, not the whole map
/// stretched over its tiny range.
GridImage kernelImage(const Eigen::MatrixXd& theta, const QString& what) {
    GridImage g;
    const auto k = static_cast<int>(theta.rows());
    if (k == 0 || !theta.allFinite() || !(theta.diagonal().minCoeff() > 0))
        return g;
    const Eigen::VectorXd scale = theta.diagonal().cwiseSqrt().cwiseInverse();
    const Eigen::MatrixXd r = scale.asDiagonal() * theta * scale.asDiagonal();
    const double lo = r.minCoeff() < 0 ? -1.0 : 0.0;
    g.image = QImage(k, k, QImage::Format_RGB32);
    g.values.resize(static_cast<std::size_t>(k) * static_cast<std::size_t>(k));
    for (int a = 0; a < k; ++a) {
        auto* line = reinterpret_cast<QRgb*>(g.image.scanLine(a));
        for (int b = 0; b < k; ++b) {
            line[b] = viridis((r(a, b) - lo) / (1.0 - lo));
            g.values[static_cast<std::size_t>(a) * static_cast<std::size_t>(k) +
                     static_cast<std::size_t>(b)] = r(a, b);
        }
    }
    g.xLeft = -0.5;
    g.xRight = k - 0.5;
    g.yTop = -0.5;
    g.yBottom = k - 0.5;
    g.vMin = lo;
    g.vMax = 1.0;
    g.squareCells = true;
    g.integerX = g.integerY = true;
    g.xLabel = QObject::tr("input b");
    g.yLabel = QObject::tr("input a");
    g.colorLabel = QObject::tr("%1 \u0398_ab / \u221a(\u0398_aa \u0398_bb)").arg(what);
    g.valueKey = QStringLiteral("theta_over_diagonal");
    return g;
}

/// "from lo to hi" with as many digits as it takes for the two to differ (up to 10).
QString rangeText(double lo, double hi) {
    int digits = 4;
    while (digits < 10 && QString::number(lo, 'g', digits) == QString::number(hi, 'g', digits))
        ++digits;
    return QObject::tr("%1 to %2")
        .arg(QString::number(lo, 'g', digits), QString::number(hi, 'g', digits));
}
} // namespace

NtkView::NtkView(QWidget* parent)
    : QWidget(parent), refresh_(this, kDebounceMs, [this] { compute(); }) {
    spectrum_ = charts::makeView(tr("NTK eigenvalues"));
    spectrum_->setObjectName(QStringLiteral("ntkSpectrum"));
    QChart* c = spectrum_->chart();
    eigX_ = charts::valueAxis(c, tr("eigenvalue rank i (1 = largest)"), Qt::AlignBottom,
                              QStringLiteral("%d"));
    eigY_ = charts::logAxis(c, tr("eigenvalue \u03bb\u1d62 of \u0398 (log)"), Qt::AlignLeft);
    // predictions (analytic) first: later series are drawn on top, so the measured curve stays
    // visible where it matches
    eigAnalytic_ =
        charts::addLine(c, tr("analytic (\u221e width)"), charts::color(1), true, eigX_, eigY_);
    eigEmpirical_ = charts::addLine(c, tr("empirical"), charts::color(0), false, eigX_, eigY_);

    condition_ = charts::makeView(tr("NTK condition number \u03bb_max/\u03bb_min by depth"));
    condition_->setObjectName(QStringLiteral("ntkCondition"));
    c = condition_->chart();
    condX_ = charts::valueAxis(c, tr("depth m (network truncated at layer m)"), Qt::AlignBottom,
                               QStringLiteral("%d"));
    condY_ = charts::logAxis(c, tr("condition number (log)"), Qt::AlignLeft);
    condAnalytic_ = charts::addLine(c, tr("analytic"), charts::color(1), true, condX_, condY_);
    condEmpirical_ = charts::addLine(c, tr("empirical"), charts::color(0), false, condX_, condY_);
    // CSV keys (figureCsv): the panel is the chart's object name
    eigEmpirical_->setObjectName(QStringLiteral("empirical"));
    eigAnalytic_->setObjectName(QStringLiteral("analytic"));
    condEmpirical_->setObjectName(QStringLiteral("empirical"));
    condAnalytic_->setObjectName(QStringLiteral("analytic"));
    charts::restyle(spectrum_);
    charts::restyle(condition_);

    kernel_ = new GridHeatmap(tr("NTK kernel \u0398 on the probe inputs"));
    kernel_->setObjectName(QStringLiteral("ntkKernel"));
    kernelChoice_ = new QComboBox;
    kernelChoice_->addItems({tr("empirical kernel"), tr("analytic kernel")});
    connect(kernelChoice_, &QComboBox::currentIndexChanged, this, [this] { showKernel(); });
    inputs_ = new QSpinBox;
    inputs_->setObjectName(QStringLiteral("ntkInputs"));
    inputs_->setRange(kNtkViewMinInputs, kNtkViewMaxInputs);
    inputs_->setValue(32);
    inputs_->setToolTip(tr("K probe inputs (the first K of the batch): the kernel is K x K."));
    connect(inputs_, &QSpinBox::valueChanged, this, [this] { refresh_.restart(); });
    summary_ = new QLabel;
    summary_->setObjectName(QStringLiteral("ntkSummary"));
    summary_->setWordWrap(true);
    summary_->setTextInteractionFlags(Qt::TextSelectableByMouse);

    auto* top = new QHBoxLayout;
    top->addWidget(new QLabel(tr("Inputs K:")));
    top->addWidget(inputs_);
    top->addWidget(new QLabel(tr("Heatmap:")));
    top->addWidget(kernelChoice_);
    top->addWidget(summary_, 1);
    auto* charts = new QWidget;
    auto* grid = new QGridLayout(charts);
    grid->setContentsMargins(0, 0, 0, 0);
    grid->addWidget(spectrum_, 0, 0);
    grid->addWidget(condition_, 0, 1);
    grid->addWidget(kernel_, 1, 0, 1, 2);
    grid->setRowStretch(0, 1);
    grid->setRowStretch(1, 1);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    weightsNote_ = new QLabel;
    weightsNote_->setObjectName(QStringLiteral("weightsNote"));
    weightsNote_->setWordWrap(true);
    weightsNote_->setVisible(false);
    layout->addWidget(weightsNote_);
    layout->addLayout(top);
    // a spec the NTK is not computed for: its reason in place of the last result's charts,
    // which would otherwise stand there as if they were this network's
    refusal_ = new QLabel;
    refusal_->setObjectName(QStringLiteral("ntkRefusal"));
    refusal_->setWordWrap(true);
    refusal_->setAlignment(Qt::AlignCenter);
    refusal_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    refusal_->setContentsMargins(40, 20, 40, 20);
    pages_ = new QStackedWidget;
    pages_->addWidget(charts);
    pages_->addWidget(refusal_);
    layout->addWidget(pages_, 1);

    summary_->setText(tr("Waiting for the first result..."));
}

NtkView::~NtkView() = default;

void NtkView::setWeightsNote(const QString& note) {
    weightsNote_->setText(note);
    weightsNote_->setVisible(!note.isEmpty());
}

QString NtkView::weightsNote() const {
    return weightsNote_->text();
}

void NtkView::setSpec(const NetworkSpec& spec) {
    refresh_.setSpec(spec);
}

int NtkView::inputs() const {
    return inputs_->value();
}

void NtkView::setInputs(int k) {
    inputs_->setValue(k);
}

void NtkView::showSameAs(const NtkView& other) {
    const QSignalBlocker blockInputs(inputs_), blockChoice(kernelChoice_);
    inputs_->setValue(other.inputs_->value());
    kernelChoice_->setCurrentIndex(other.kernelChoice_->currentIndex());
    refresh_.markCurrent(other.refresh_.spec());
    showRefusal(other.refusalMessage_);
    streamed_ = other.streamed_;
    if (other.result_.inputs > 0)
        display(other.result_, other.empiricalImage_, other.analyticImage_);
    else
        drawConditions();
}

QString NtkView::summaryText() const {
    return summary_->text();
}

bool NtkView::refused() const {
    return !refusalMessage_.isEmpty();
}

QString NtkView::refusalText() const {
    return refusal_->text();
}

void NtkView::showRefusal(const QString& message) {
    refusalMessage_ = message;
    if (message.isEmpty()) {
        refusal_->clear();
        pages_->setCurrentIndex(0);
        return;
    }
    refusal_->setText(tr("<p style='font-size:large'><b>The NTK view is not computed for this "
                         "network.</b></p><p>%1</p><p style='color:gray'>The Jacobian, "
                         "ensemble and sweep views, and the per-layer tabs, show it.</p>")
                          .arg(message.toHtmlEscaped()));
    pages_->setCurrentWidget(refusal_);
}

void NtkView::showEvent(QShowEvent* event) {
    QWidget::showEvent(event);
    refresh_.shown();
}

QString NtkView::problems() const {
    const NetworkSpec& spec = refresh_.spec();
    NtkOptions options;
    options.inputs = std::min(inputs_->value(), spec.batch);
    const std::vector<SpecError> errors = validateNtk(spec, options);
    return QString::fromStdString(firstMessage(errors));
}

void NtkView::compute() {
    const NetworkSpec spec = refresh_.spec();
    NtkOptions options;
    options.inputs = std::min(inputs_->value(), spec.batch);
    if (const QString message = problems(); !message.isEmpty()) {
        worker_.cancel();
        summary_->setText(tr("Not computed: %1").arg(message));
        showRefusal(message);
        return;
    }
    showRefusal({});
    condX_->setTitleText(spec.arch == Arch::Resnet
                             ? tr("blocks m (network truncated after block m)")
                             : tr("depth m (network truncated at layer m)"));
    streamed_.assign(static_cast<std::size_t>(spec.depth), std::nan(""));
    condEmpirical_->clear();
    charts::integerTicks(condX_, 0.5, spec.depth + 0.5);
    summary_->setText(tr("Computing the NTK of %1 inputs at every depth 1..%2...")
                          .arg(options.inputs)
                          .arg(spec.depth));
    worker_.submit([this, spec, options](quint64 gen, const std::atomic<bool>& cancel) {
        NtkResult r;
        try {
            r = computeNtk(
                spec, options,
                [&](const NtkDepthPoint& p) {
                    worker_.post(gen, [this, p] {
                        if (p.depth >= 1 && p.depth <= static_cast<int>(streamed_.size())) {
                            streamed_[static_cast<std::size_t>(p.depth - 1)] = p.condition;
                            drawConditions();
                        }
                    });
                },
                &cancel);
        } catch (const std::exception& e) {
            const QString m = QString::fromUtf8(e.what());
            worker_.post(gen, [this, m] { summary_->setText(tr("Not computed: %1").arg(m)); });
            return;
        }
        if (r.cancelled)
            return;
        GridImage e = kernelImage(r.empirical.theta, QObject::tr("empirical"));
        GridImage a = kernelImage(r.analytic.theta, QObject::tr("analytic"));
        worker_.post(gen, [this, r = std::move(r), e, a] { display(r, e, a); });
    });
}

void NtkView::showKernel() {
    const bool empirical = kernelChoice_->currentIndex() == 0;
    kernel_->setGrid(empirical ? empiricalImage_ : analyticImage_);
    const Eigen::MatrixXd& theta = empirical ? result_.empirical.theta : result_.analytic.theta;
    if (theta.size() == 0 || !theta.allFinite()) {
        kernel_->setTitle(tr("NTK kernel \u0398 on the probe inputs"));
        return;
    }
    // the raw range in the title: the colours are relative to the diagonal
    kernel_->setTitle(tr("NTK kernel of %1 inputs (%2), relative to its diagonal; "
                         "\u0398 from %3")
                          .arg(result_.inputs)
                          .arg(depthText(result_.spec))
                          .arg(rangeText(theta.minCoeff(), theta.maxCoeff())));
}

void NtkView::drawConditions() {
    std::vector<QPointF> pts;
    std::vector<double> ys = streamed_;
    for (std::size_t m = 0; m < streamed_.size(); ++m)
        pts.emplace_back(static_cast<double>(m + 1), streamed_[m]);
    charts::setPoints(condEmpirical_, charts::drawable(pts, true));
    for (const QPointF& p : condAnalytic_->points())
        ys.push_back(p.y());
    charts::fitLog(condY_, ys);
}

void NtkView::display(const NtkResult& r, const GridImage& empirical, const GridImage& analytic) {
    result_ = r;
    empiricalImage_ = empirical;
    analyticImage_ = analytic;
    showKernel();

    auto eig = [](const std::vector<double>& v) {
        std::vector<QPointF> pts;
        for (std::size_t i = 0; i < v.size(); ++i)
            pts.emplace_back(static_cast<double>(i + 1), v[i]);
        return charts::drawable(pts, true);
    };
    charts::setPoints(eigEmpirical_, eig(r.empirical.eigenvalues), true);
    charts::setPoints(eigAnalytic_,
                      r.analyticApplicable ? eig(r.analytic.eigenvalues) : QList<QPointF>{});
    std::vector<double> ys = r.empirical.eigenvalues;
    if (r.analyticApplicable)
        ys.insert(ys.end(), r.analytic.eigenvalues.begin(), r.analytic.eigenvalues.end());
    charts::fitLog(eigY_, ys);
    spectrum_->chart()->setTitle(
        tr("NTK eigenvalues of %1 inputs, %2").arg(r.inputs).arg(depthText(r.spec)));

    if (!r.conditionByDepth.empty())
        streamed_ = r.conditionByDepth; // authoritative (equal to the streamed values)
    std::vector<QPointF> pts;
    if (r.analyticApplicable)
        for (std::size_t m = 0; m < r.analyticConditionByDepth.size(); ++m)
            pts.emplace_back(static_cast<double>(m + 1), r.analyticConditionByDepth[m]);
    charts::setPoints(condAnalytic_, charts::drawable(pts, true));
    charts::integerTicks(condX_, 0.5, r.spec.depth + 0.5);
    charts::integerTicks(eigX_, 0.5, r.inputs + 0.5);
    drawConditions();

    QString text = tr("<b>Condition</b> \u03bb_max/\u03bb_min = %1 empirical, %2 analytic; "
                      "\u03bb_max = %3, \u03bb_min = %4. %5 ms.")
                       .arg(num(r.empirical.condition),
                            r.analyticApplicable ? num(r.analytic.condition) : tr("n/a"),
                            num(r.empirical.eigenvalues.empty() ? std::nan("")
                                                                : r.empirical.eigenvalues.front()),
                            num(r.empirical.eigenvalues.empty() ? std::nan("")
                                                                : r.empirical.eigenvalues.back()))
                       .arg(r.seconds * 1e3, 0, 'f', 0);
    if (!r.analyticApplicable && !r.analyticNote.empty())
        text += tr(" Analytic: %1.").arg(QString::fromStdString(r.analyticNote));
    if (r.firstNonfiniteLayer > 0)
        text += tr(" <b>Non-finite from layer %1.</b>").arg(r.firstNonfiniteLayer);
    summary_->setText(text);
    emit resultShown();
}

} // namespace initscope::ui
