#include "window/mainwindow.h"

#include "charts/heatmapwidget.h"
#include "charts/layercharts.h"
#include "export/export.h"
#include "export/exportdialog.h"
#include "export/figure.h"
#include "model/presetdocument.h"
#include "model/specdiff.h"
#include "spec/preset.h"
#include "stats/statschema.h"
#include "views/analysisviews.h"
#include "views/inputsview.h"
#include "views/viewregistry.h"
#include "window/controlpanel.h"
#include "window/perfmonitor.h"
#include "window/presentation.h"
#include "window/settings.h"
#include "work/runcontroller.h"
#include "work/tourcontroller.h"

#include <QAction>
#include <QActionGroup>
#include <QApplication>
#include <QCheckBox>
#include <QCloseEvent>
#include <QComboBox>
#include <QDockWidget>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QKeySequence>
#include <QLabel>
#include <QMenuBar>
#include <QMessageBox>
#include <QProgressBar>
#include <QScreen>
#include <QScrollArea>
#include <QStatusBar>
#include <QStyle>
#include <QTabWidget>
#include <QToolButton>
#include <QUndoStack>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>

namespace initscope::ui {

namespace {
/// The width a status line names: N, or a cnn's units per layer C S^2.
int shownWidth(const NetworkSpec& s) {
    return s.arch == Arch::Cnn ? s.widthOf(1) : s.width;
}
QString num(double v) {
    return std::isfinite(v) ? QString::number(v, 'g', 4) : QStringLiteral("n/a");
}

QPalette darkPalette() {
    QPalette p;
    const QColor window(45, 45, 48), base(30, 30, 32), text(230, 230, 230), mid(110, 110, 115);
    p.setColor(QPalette::Window, window);
    p.setColor(QPalette::WindowText, text);
    p.setColor(QPalette::Base, base);
    p.setColor(QPalette::AlternateBase, window);
    p.setColor(QPalette::ToolTipBase, base);
    p.setColor(QPalette::ToolTipText, text);
    p.setColor(QPalette::Text, text);
    p.setColor(QPalette::Button, window);
    p.setColor(QPalette::ButtonText, text);
    p.setColor(QPalette::BrightText, Qt::red);
    p.setColor(QPalette::Mid, mid);
    p.setColor(QPalette::Dark, QColor(25, 25, 25));
    p.setColor(QPalette::Highlight, QColor(42, 130, 218));
    p.setColor(QPalette::HighlightedText, Qt::black);
    p.setColor(QPalette::Link, QColor(90, 160, 240));
    p.setColor(QPalette::Disabled, QPalette::Text, mid);
    p.setColor(QPalette::Disabled, QPalette::ButtonText, mid);
    p.setColor(QPalette::Disabled, QPalette::WindowText, mid);
    return p;
}
} // namespace

MainWindow::MainWindow(bool perfLog, QWidget* parent) : QMainWindow(parent) {
    setWindowTitle(tr("initscope \u2014 what initialization does to a deep network"));
    setObjectName(QStringLiteral("mainWindow"));
    controller_ = new RunController(this);
    perf_ = new PerfMonitor(perfLog, this);

    // ---- views
    tabs_ = new QTabWidget;
    tabs_->setObjectName(QStringLiteral("views"));
    tabs_->setDocumentMode(true);
    // the same widgets an exported figure and initscope-cli export draw (figure.h)
    signal_ = makeSignalChart();
    gradients_ = makeGradientChart();
    correlation_ = makeCorrelationChart();
    distribution_ = makeDistributionView();
    activations_ = makeActivationView();
    auto* activationsPage = new QWidget;
    auto* activationsLayout = new QVBoxLayout(activationsPage);
    activationsLayout->setContentsMargins(0, 4, 0, 0);
    perLayer_ = new QCheckBox(tr("Scale each layer to its own range"));
    perLayer_->setToolTip(tr("Shows the structure of layers whose signal has vanished"));
    perLayer_->setObjectName(QStringLiteral("perLayerScale"));
    connect(perLayer_, &QCheckBox::toggled, this, [this] { pushHeatmaps(); });
    activationsLayout->addWidget(perLayer_);
    activationsLayout->addWidget(activations_, 1);
    // any per-layer statistic, chosen (the notes cite unit_spread, dead_fraction, ...)
    statisticPage_ = new QWidget;
    auto* statisticLayout = new QVBoxLayout(statisticPage_);
    statisticLayout->setContentsMargins(0, 4, 0, 0);
    auto* chooserRow = new QHBoxLayout;
    statisticChoice_ = new QComboBox;
    statisticChoice_->setObjectName(QStringLiteral("statisticChoice"));
    for (const QString& key : statisticKeys())
        statisticChoice_->addItem(QStringLiteral("%1 \u2014 %2").arg(key, statisticLabel(key)),
                                  key);
    statisticChoice_->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
    statisticChoice_->setMinimumContentsLength(28);
    auto* chooserLabel = new QLabel(tr("S&tatistic:"));
    chooserLabel->setBuddy(statisticChoice_);
    chooserRow->addWidget(chooserLabel);
    chooserRow->addWidget(statisticChoice_, 1);
    statisticLayout->addLayout(chooserRow);
    statistic_ = makeStatisticChart(statisticChoice_->currentData().toString());
    statisticLayout->addWidget(statistic_, 1);
    connect(statisticChoice_, &QComboBox::currentIndexChanged, this, [this, statisticLayout] {
        LayerChart* next = makeStatisticChart(statisticChoice_->currentData().toString());
        statisticLayout->replaceWidget(statistic_, next);
        delete statistic_;
        statistic_ = next;
        if (shown_->generation != 0)
            pushStatistic();
        markViews();
    });
    // the window's part of each layer view (viewregistry.h): its page, the figure an export
    // sizes itself by, and how the shown run reaches it
    layerViews_ = {
        {QStringLiteral("signal"), {signal_, [this] { return signal_; }, &MainWindow::pushSignal}},
        {QStringLiteral("gradients"),
         {gradients_, [this] { return gradients_; }, &MainWindow::pushGradients}},
        {QStringLiteral("correlation"),
         {correlation_, [this] { return correlation_; }, &MainWindow::pushCorrelation}},
        {QStringLiteral("distribution"),
         {distribution_, [this] { return distribution_; }, &MainWindow::pushHeatmaps}},
        {QStringLiteral("activations"),
         {activationsPage, [this] { return activations_; }, &MainWindow::pushHeatmaps}},
        {QStringLiteral("statistic"),
         {statisticPage_, [this] { return statistic_; }, &MainWindow::pushStatistic}},
    };
    setCentralWidget(tabs_);
    connect(tabs_, &QTabWidget::currentChanged, this, [this] {
        controller_->setGradientsWanted(gradientsVisible());
        if (displayedGen_ != 0)
            pushView(tabs_->currentWidget());
    });

    // ---- controls dock (scrollable: it is taller than a laptop screen)
    controls_ = new ControlPanel;
    auto* scroll = new QScrollArea;
    scroll->setWidget(controls_);
    scroll->setWidgetResizable(true);
    // Narrower than the controls when the window must be (1280 x 720, or 150 % scaling): the
    // panel then scrolls sideways too; it opens at its full width (resizeDocks below).
    scroll->setHorizontalScrollBarPolicy(Qt::ScrollBarAsNeeded);
    scroll->setMinimumWidth(260);
    dock_ = new QDockWidget(tr("Controls"));
    dock_->setObjectName(QStringLiteral("controlsDock"));
    dock_->setWidget(scroll);
    dock_->setFeatures(QDockWidget::DockWidgetMovable | QDockWidget::DockWidgetFloatable |
                       QDockWidget::DockWidgetClosable);
    addDockWidget(Qt::LeftDockWidgetArea, dock_);
    // the first inputs of the batch, as the network sees them: a tab beside the controls
    inputs_ = new InputsView;
    inputsDock_ = new QDockWidget(tr("Inputs"));
    inputsDock_->setObjectName(QStringLiteral("inputsDock"));
    inputsDock_->setWidget(inputs_);
    inputsDock_->setFeatures(dock_->features());
    addDockWidget(Qt::LeftDockWidgetArea, inputsDock_);
    tabifyDockWidget(dock_, inputsDock_);
    dock_->raise();
    connect(
        controller_, &RunController::runStarted, inputs_,
        [this](quint64, const NetworkSpec& spec, const TheoryCurves&) { inputs_->setSpec(spec); });

    // ---- analysis views: tabs after the layer views, each with its own worker thread
    analysis_ = new AnalysisViews(controls_, controller_, this);
    // the tabs: every view of the registry, in its order, with its title and tooltip
    for (const ViewInfo& v : viewRegistry()) {
        QWidget* page = v.isLayerView() ? layerViews_.at(v.name).page : analysis_->widget(v.name);
        Q_ASSERT(page);
        const int i = tabs_->addTab(page, v.tabTitle());
        tabs_->setTabToolTip(i, v.toolTipText());
    }
    controller_->setGradientsWanted(gradientsVisible());
    connect(analysis_, &AnalysisViews::specRequested, this, &MainWindow::setSpec);
    connect(analysis_, &AnalysisViews::message, this,
            [this](const QString& m) { statusBar()->showMessage(m, 6000); });
    settings::setErrorReporter([this](const QString& m) {
        statusBar()->showMessage(tr("A setting was not saved: %1").arg(m), 15000);
    });

    // ---- status bar
    progress_ = new QProgressBar;
    progress_->setObjectName(QStringLiteral("progress"));
    progress_->setMinimumWidth(220);
    progress_->setToolTip(tr("Layers done: forward pass, then backward pass"));
    status_ = new QLabel;
    status_->setObjectName(QStringLiteral("status"));
    // a long status never widens the window: it is cut, and shown whole as its tooltip
    status_->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred);
    statusBar()->addWidget(status_, 1);
    // ---- work-W: which weights the main views run on, and the way back to drawn ones
    weightsBox_ = new QWidget;
    weightsBox_->setObjectName(QStringLiteral("weightsBox"));
    auto* weightsLayout = new QHBoxLayout(weightsBox_);
    weightsLayout->setContentsMargins(0, 0, 0, 0);
    weightsLabel_ = new QLabel;
    weightsLabel_->setObjectName(QStringLiteral("weightsLabel"));
    weightsLabel_->setStyleSheet(QStringLiteral("QLabel { font-weight: bold; }"));
    auto* drawn = new QToolButton;
    drawn->setObjectName(QStringLiteral("useDrawnWeights"));
    drawn->setText(tr("Use drawn weights"));
    drawn->setToolTip(tr("Unload the learned weights: the views show the spec's random draws"));
    connect(drawn, &QToolButton::clicked, this, [this] { unloadWeights(); });
    weightsLayout->addWidget(weightsLabel_);
    weightsLayout->addWidget(drawn);
    weightsBox_->setVisible(false);
    statusBar()->addPermanentWidget(weightsBox_);
    connect(analysis_, &AnalysisViews::weightsRequested, this, &MainWindow::loadWeights);
    statusBar()->addPermanentWidget(progress_);

    presets_ = new PresetDocument(this);
    tour_ = new TourController(this);
    presentation_ = new PresentationMode(this, tabs_, controls_, tour_);
    presets_->setTourOpener([this](const QString& path, QString* error) {
        Tour tour;
        std::vector<TourStop> stops;
        if (!readTourAndStops(path, &tour, &stops, error))
            return false;
        tour_->setTour(tour, std::move(stops), QFileInfo(path).absoluteFilePath());
        return true;
    });
    buildMenus();

    connect(controls_, &ControlPanel::specEdited, this, &MainWindow::scheduleRun);
    connect(controls_, &ControlPanel::message, this,
            [this](const QString& m) { statusBar()->showMessage(m, 6000); });
    connect(controller_, &RunController::runStarted, this, &MainWindow::onStarted);
    connect(controller_, &RunController::forwardLayer, this, &MainWindow::onForward);
    connect(controller_, &RunController::backwardLayer, this, &MainWindow::onBackward);
    connect(controller_, &RunController::heatmapsReady, this, &MainWindow::onHeatmaps);
    connect(controller_, &RunController::runFinished, this, &MainWindow::onFinished);
    connect(controller_, &RunController::runFailed, this, &MainWindow::onFailed);
    connect(controller_, &RunController::runBackwardSkipped, this, [this](quint64 gen) {
        if (gen != live_.generation)
            return;
        live_.backwardSkipped = true;
        live_.dirty = true;
    });

    const QString platform = QGuiApplication::platformName();
    confirmClose_ = platform != QLatin1String("offscreen") &&
                    platform != QLatin1String("minimal") &&
                    qEnvironmentVariableIntValue("INITSCOPE_NO_CLOSE_PROMPT") == 0;

    frameTimer_.setInterval(kFrameMs);
    connect(&frameTimer_, &QTimer::timeout, this, &MainWindow::frame);
    frameTimer_.start();
    submitTimer_.setSingleShot(true);
    submitTimer_.setInterval(kSubmitMs);
    connect(&submitTimer_, &QTimer::timeout, this, [this] {
        if (submitPending_) {
            submitNow();
            submitTimer_.start();
        }
    });
    sinceDisplay_.start();
    // 1500 x 940 where it fits; 90 % of a smaller (laptop) screen otherwise
    const QRect avail = screen() ? screen()->availableGeometry() : QRect(0, 0, 1600, 1000);
    resize(std::min(1500, avail.width() * 9 / 10), std::min(940, avail.height() * 9 / 10));
    // the controls at full width where the views keep their minimum beside them; narrower (the
    // panel scrolls) on a small screen, where a wide dock would push the window off it
    const int viewsMin = tabs_->minimumSizeHint().width() + 24;
    resizeDocks({dock_},
                {std::clamp(std::min(controls_->sizeHint().width() + 24, width() - viewsMin), 260,
                            std::max(260, width() * 2 / 5))},
                Qt::Horizontal);
    submitNow();
}

void MainWindow::showInputs() {
    inputsDock_->show();
    inputsDock_->raise();
}

// the controller (a child) cancels and joins its worker
MainWindow::~MainWindow() {
    settings::setErrorReporter({});
}

QStringList MainWindow::viewNames() {
    return layerViewNames();
}

bool MainWindow::showStatistic(const QString& key) {
    const int i = statisticChoice_->findData(key);
    if (i < 0)
        return false;
    statisticChoice_->setCurrentIndex(i);
    return true;
}

QString MainWindow::currentStatistic() const {
    return statisticChoice_->currentData().toString();
}

QWidget* MainWindow::viewPage(const QString& name) const {
    const ViewInfo* v = findView(name);
    if (!v)
        return nullptr;
    return v->isLayerView() ? layerViews_.at(v->name).page : analysis_->widget(v->name);
}

bool MainWindow::showView(const QString& name) {
    if (name.toLower() == QLatin1String("inputs")) { // a dock beside the views, not a tab
        showInputs();
        return true;
    }
    QWidget* page = viewPage(name);
    if (!page)
        return false;
    tabs_->setCurrentWidget(page);
    return true;
}

void MainWindow::buildMenus() {
    QMenu* file = menuBar()->addMenu(tr("&File"));
    QAction* exportAction = file->addAction(tr("&Export view..."), this, &MainWindow::exportDialog);
    exportAction->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_E));
    presets_->addFileActions(file);
    file->addSeparator();
    QAction* quit = file->addAction(tr("&Quit"), this, &QWidget::close);
    quit->setShortcut(QKeySequence::Quit);

    QMenu* edit = menuBar()->addMenu(tr("&Edit"));
    presets_->addEditActions(edit);

    QMenu* run = menuBar()->addMenu(tr("&Run"));
    QAction* again = run->addAction(tr("&Run again"), this, &MainWindow::rerun);
    // F5 is presentation mode's (as in slide software)
    again->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_Return));
    QAction* stop = run->addAction(tr("&Stop"), this, [this] {
        if (presentation_->isActive())
            presentation_->leave(); // Esc leaves presentation mode first
        else
            stopRun();
    });
    stop->setShortcut(QKeySequence(Qt::Key_Escape));
    QAction* reseed = run->addAction(tr("&New seed"), this, [this] {
        NetworkSpec s = controls_->spec();
        s.seed += 1;
        setSpec(s);
    });
    reseed->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_R));
    run->addSeparator();
    run->addAction(tr("Gain: &Xavier"), QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_X), controls_,
                   &ControlPanel::setXavierGain);
    run->addAction(tr("Gain: &He"), QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_H), controls_,
                   &ControlPanel::setHeGain);
    run->addAction(tr("Gain: &critical (edge of chaos)"),
                   QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_C), controls_,
                   &ControlPanel::setCriticalGain);
    auto scaleGain = [this](double f) {
        GainControl* g = controls_->gainControl();
        g->setValue(std::min(g->value() * f, Limits::kMaxGain));
        scheduleRun();
    };
    run->addAction(tr("Gain \u00d7 1.05"), QKeySequence(Qt::CTRL | Qt::Key_Up), this,
                   [scaleGain] { scaleGain(1.05); });
    run->addAction(tr("Gain \u00f7 1.05"), QKeySequence(Qt::CTRL | Qt::Key_Down), this,
                   [scaleGain] { scaleGain(1.0 / 1.05); });

    QMenu* view = menuBar()->addMenu(tr("&View"));
    // every view of the registry with its shortcut (Ctrl+1 .. Ctrl+0, Ctrl+T): the layer views
    // as ever, then a submenu per group (Analysis, Training, Applications), each in tab order
    for (const ViewGroup group :
         {ViewGroup::Layers, ViewGroup::Analysis, ViewGroup::Training, ViewGroup::Applications}) {
        QMenu* menu = group == ViewGroup::Layers ? view : view->addMenu(viewGroupTitle(group));
        for (const ViewInfo& v : viewRegistry()) {
            if (v.group != group)
                continue;
            QString text = v.tabTitle();
            text.remove(QLatin1Char('&'));
            QAction* a = menu->addAction(text, this, [this, n = v.name] { showView(n); });
            a->setObjectName(QStringLiteral("view-") + v.name);
            a->setShortcut(v.shortcut);
            a->setToolTip(v.toolTipText());
        }
    }
    view->addSeparator();
    QAction* toggle = dock_->toggleViewAction();
    toggle->setText(tr("Show &controls"));
    toggle->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_D));
    view->addAction(toggle);
    view->addAction(tr("Show &inputs"), this, &MainWindow::showInputs);
    QAction* browser = view->addAction(tr("&Presets..."), presets_, &PresetDocument::showBrowser);
    browser->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_P));
    view->addSeparator();
    pinAction_ = view->addAction(tr("Pin as &reference"), this, [this] { pinReference(); });
    pinAction_->setObjectName(QStringLiteral("pinReference"));
    pinAction_->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_B));
    pinAction_->setToolTip(
        tr("Pin the run shown: every layer chart keeps its curves, faded and labelled with the "
           "settings that differ, while you change the settings (Ctrl+B)"));
    pinAction_->setEnabled(false);
    pinAction_->setIconText(tr("Pin reference")); // the tool button's text beside the tabs
    clearReferenceAction_ =
        view->addAction(tr("C&lear reference"), this, &MainWindow::clearReference);
    clearReferenceAction_->setObjectName(QStringLiteral("clearReference"));
    clearReferenceAction_->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_B));
    clearReferenceAction_->setToolTip(tr("Remove the pinned reference run (Ctrl+Shift+B)"));
    clearReferenceAction_->setEnabled(false);
    clearReferenceAction_->setIconText(QStringLiteral("\u2715"));
    // beside the tabs, where the charts are: A/B is a lecture's move, not a menu's; the clear
    // button only while something is pinned (the tabs need the width)
    auto* corner = new QWidget;
    auto* cornerLayout = new QHBoxLayout(corner);
    cornerLayout->setContentsMargins(4, 0, 4, 0);
    cornerLayout->setSpacing(0);
    auto* pinButton = new QToolButton;
    pinButton->setDefaultAction(pinAction_);
    pinButton->setObjectName(QStringLiteral("pinReferenceButton"));
    auto* clearButton = new QToolButton;
    clearButton->setDefaultAction(clearReferenceAction_);
    clearButton->setObjectName(QStringLiteral("clearReferenceButton"));
    clearButton->setVisible(false);
    connect(clearReferenceAction_, &QAction::enabledChanged, clearButton, &QWidget::setVisible);
    for (QToolButton* b : {pinButton, clearButton}) {
        b->setAutoRaise(true);
        cornerLayout->addWidget(b);
    }
    tabs_->setCornerWidget(corner, Qt::TopRightCorner);
    QMenu* theme = view->addMenu(tr("&Theme"));
    auto* group = new QActionGroup(this);
    for (const auto& [key, text] : {std::pair{QStringLiteral("system"), tr("Follow the &system")},
                                    std::pair{QStringLiteral("light"), tr("&Light")},
                                    std::pair{QStringLiteral("dark"), tr("&Dark")}}) {
        QAction* a = theme->addAction(text, this, [this, k = key] { setTheme(k); });
        a->setCheckable(true);
        a->setChecked(key == QLatin1String("system"));
        a->setData(key);
        group->addAction(a);
        themeActions_.push_back(a);
    }

    QMenu* tourMenu = menuBar()->addMenu(tr("T&our"));
    tour_->addMenu(tourMenu);
    tourMenu->addAction(presentation_->toggleAction());

    QMenu* help = menuBar()->addMenu(tr("&Help"));
    QAction* about = help->addAction(tr("&About initscope"), this, &MainWindow::showAbout);
    about->setShortcut(QKeySequence::HelpContents);
    help->addAction(tr("About &Qt"), qApp, &QApplication::aboutQt);
}

void MainWindow::setTheme(const QString& theme) {
    static const QPalette systemPalette = QApplication::palette();
    theme_ = theme == QLatin1String("dark") || theme == QLatin1String("light")
                 ? theme
                 : QStringLiteral("system");
    for (QAction* a : themeActions_)
        a->setChecked(a->data().toString() == theme_);
    if (theme == QLatin1String("dark"))
        QApplication::setPalette(darkPalette());
    else if (theme == QLatin1String("light"))
        QApplication::setPalette(QApplication::style()->standardPalette());
    else
        QApplication::setPalette(systemPalette);
}

void MainWindow::showAbout() {
    QMessageBox::about(
        this, tr("About initscope"),
        tr("<h3>initscope %1</h3>"
           "<p>Shows, live, what the initial weights do to a deep network: signals and gradients "
           "that vanish or explode with depth, symmetry, and the ordered and chaotic phases. "
           "Every curve is measured on a real random network and drawn beside the mean-field "
           "prediction.</p>"
           "<p><b>Sources of the formulas</b></p><ul>"
           "<li>X. Glorot, Y. Bengio (2010), <i>Understanding the difficulty of training deep "
           "feedforward neural networks</i> \u2014 Xavier initialization.</li>"
           "<li>K. He, X. Zhang, S. Ren, J. Sun (2015), <i>Delving deep into rectifiers</i> "
           "\u2014 He initialization.</li>"
           "<li>B. Poole, S. Lahiri, M. Raghu, J. Sohl-Dickstein, S. Ganguli (2016), "
           "<i>Exponential expressivity in deep neural networks through transient chaos</i> "
           "\u2014 length and correlation maps, \u03c7\u2081.</li>"
           "<li>S. Schoenholz, J. Gilmer, S. Ganguli, J. Sohl-Dickstein (2017), <i>Deep "
           "information propagation</i> \u2014 depth scales \u03be_q, \u03be_c, edge of "
           "chaos.</li>"
           "<li>J. Pennington, S. Schoenholz, S. Ganguli (2017), <i>Resurrecting the sigmoid in "
           "deep learning through dynamical isometry</i>.</li>"
           "<li>A. Jacot, F. Gabriel, C. Hongler (2018), <i>Neural tangent kernel</i>.</li>"
           "<li>L. Xiao et al. (2018), <i>Dynamical isometry and a mean field theory of CNNs</i>; "
           "B. Hanin, D. Rolnick (2018); L. Xiao, J. Pennington, S. Schoenholz (2020).</li>"
           "</ul><p>Built with Qt %2, Eigen and oneTBB.</p>")
            .arg(QStringLiteral(INITSCOPE_VERSION), QString::fromLatin1(qVersion())));
}

bool MainWindow::exportView(const QString& path, QString* error) {
    ExportRequest request;
    request.view = currentView(); // a layer view or an analysis view
    request.path = path;
    const auto layer = layerViews_.find(request.view);
    // a layer view's figure (its chart, without the page's chooser); an analysis view's page
    request.options.size =
        (layer != layerViews_.end() ? layer->second.figure() : tabs_->currentWidget())->size();
    request.options.lecture = false;
    return exportFigures(request, error);
}

QString MainWindow::currentView() const {
    QWidget* page = tabs_->currentWidget();
    for (const auto& [name, v] : layerViews_)
        if (v.page == page)
            return name;
    const ViewInfo* v = findView(page);
    return v ? v->name : QString();
}

FigureData MainWindow::figureData() const {
    const LiveRun& r = *shown_;
    FigureData d;
    d.spec = r.spec;
    d.theory = r.theory;
    d.layers = r.layers;
    d.firstNonfinite = r.firstNonfinite;
    d.distribution = r.distribution;
    d.activations = r.activations;
    d.activationsPerLayer = r.activationsPerLayer;
    d.perLayerActivations = perLayer_->isChecked();
    d.statistic = currentStatistic();
    d.reference = reference_;
    return d;
}

bool MainWindow::exportFigures(const ExportRequest& request, QString* error) {
    if (shown_->generation == 0) {
        if (error)
            *error = tr("Nothing to export yet: no run has been shown.");
        return false;
    }
    const QString experiment = QString::fromStdString(presetToJson(presets_->currentPreset()));
    const ViewInfo* info = findView(request.view);
    if (!request.everyView && info && !info->isLayerView()) {
        // an analysis view: a copy of what it shows, through the one export path (figure.h)
        const std::unique_ptr<QWidget> figure = info->copy(analysis_->widget(info->name));
        if (!figure) {
            if (error)
                *error = tr("The %1 view has no figure to export.").arg(request.view);
            return false;
        }
        FigureOptions options = request.options;
        options.presetJson = experiment;
        return exportFigureWidget(figure.get(), request.view, request.path, options, error);
    }
    const FigureData shown = figureData();
    FigureOptions options = request.options;
    options.presetJson = experiment;
    const QStringList views = request.everyView ? viewNames() : QStringList{request.view};
    const QStringList paths = exportPaths(request, views);
    for (int i = 0; i < views.size(); ++i)
        if (!exportFigure(views[i], shown, paths[i], options, error))
            return false;
    return true;
}

void MainWindow::exportDialog() {
    ExportDialog dialog(currentView(), this);
    if (dialog.exec() != QDialog::Accepted)
        return;
    const ExportRequest request = dialog.request();
    QString error;
    if (exportFigures(request, &error)) {
        statusBar()->showMessage(
            tr("Saved %1").arg(exportPaths(request, viewNames()).join(QStringLiteral(", "))), 8000);
        // the layer views draw the loaded weights, and PNG and SVG files embed the experiment,
        // which reopens on drawn ones (an analysis view computes on drawn weights anyway)
        const ViewInfo* info = findView(request.view);
        const QString suffix = QFileInfo(request.path).suffix().toLower();
        if ((request.everyView || (info && info->isLayerView())) &&
            (suffix == QLatin1String("png") || suffix == QLatin1String("svg")))
            tellWeightsNotSaved(true);
    } else
        QMessageBox::warning(this, tr("Export failed"), error);
}

void MainWindow::setSpec(const NetworkSpec& spec) {
    controls_->setSpec(spec);
    scheduleRun();
}

void MainWindow::rerun() {
    submitNow();
}

void MainWindow::scheduleRun() {
    if (presets_)
        presets_->noteSpecChange(); // one undo step per change (merged while dragging)
    // Leading edge runs at once; further edits within kSubmitMs are merged into one trailing
    // request, so a drag produces at most one request per frame.
    submitPending_ = true;
    if (!submitTimer_.isActive()) {
        submitNow();
        submitTimer_.start();
    }
}

void MainWindow::submitNow() {
    submitPending_ = false;
    const NetworkSpec spec = controls_->spec();
    // work-W: an edit that redraws or reshapes loaded weights unloads them
    // (MainWindow::loadWeights)
    if (loaded_)
        if (const QString field = weightField(loaded_->spec, spec); !field.isEmpty())
            unloadWeights(tr("you changed %1").arg(field));
    submittedSpec_ = spec;
    const std::vector<SpecError> errors = validate(spec);
    controls_->setErrors(errors);
    if (!errors.empty()) {
        controller_->cancelAll();
        requestedGen_ = 0;
        keepShownRun();
        live_ = LiveRun{};
        controls_->clearTheory();
        notRun_ = QString::fromStdString(errors.front().message);
        progress_->setValue(0);
        progress_->setFormat(tr("not run: invalid settings"));
        markViews();
        if (presets_)
            presets_->updateModified();
        return;
    }
    notRun_.clear();
    if (presets_)
        presets_->updateModified();
    // While a slider is held, the run in progress may finish first (bounded wait, see
    // RunController::Supersede); any other edit cancels it at once.
    requestedGen_ =
        controller_->request(spec, loaded_,
                             controls_->isDragging() ? RunController::Supersede::AfterCurrent
                                                     : RunController::Supersede::Cancel);
    if (loaded_) // work-W
        runWeights_[requestedGen_] = loaded_;
    perf_->noteRunRequested();
    markViews(); // the charts are stale from this moment, not from the next frame
}

QString MainWindow::statusText() const {
    return status_->text();
}

QString MainWindow::progressText() const {
    return progress_->text();
}

void MainWindow::keepShownRun() {
    // the charts keep what they show when live_ is dropped (an invalid edit, a failure)
    if (shown_ == &live_ && live_.generation != 0) {
        complete_ = std::move(live_);
        shown_ = &complete_;
    }
}

bool MainWindow::pinReference() {
    const LiveRun& r = *shown_;
    if (r.generation == 0 || !r.finished) {
        statusBar()->showMessage(
            tr("Nothing to pin yet: the reference is a finished run (wait for the run shown to "
               "finish)."),
            6000);
        return false;
    }
    auto pinned = std::make_shared<ReferenceRun>();
    pinned->spec = r.spec;
    pinned->layers = r.layers;
    for (LayerStats& s : pinned->layers)
        s.sample.clear(); // the curves need the statistics, not the activation samples
    pinned->generation = r.generation;
    reference_ = std::move(pinned);
    refreshViews();
    markViews();
    statusBar()->showMessage(
        tr("Run #%1 pinned as the reference (Ctrl+Shift+B clears).").arg(r.generation), 8000);
    return true;
}

void MainWindow::clearReference() {
    if (!reference_)
        return;
    reference_.reset();
    refreshViews();
    markViews();
    statusBar()->showMessage(tr("Reference cleared."), 3000);
}

void MainWindow::refreshViews() {
    if (shown_->generation == 0)
        return;
    for (auto& [name, v] : layerViews_) // the layer charts; the heatmaps draw no reference
        if (v.push != &MainWindow::pushHeatmaps)
            v.stale = true;
    pushView(tabs_->currentWidget());
}

void MainWindow::stopRun() {
    controller_->cancelAll();
    if (live_.generation != 0 && !ready(live_)) {
        live_.cancelled = true;
        live_.dirty = true; // its layers so far are shown, marked partial
        pushProgress();
    }
    markViews();
    statusBar()->showMessage(tr("Stopped."), 3000);
}

namespace {
QString firstLine(const QString& text) {
    QString t = text.section(QLatin1Char('\n'), 0, 0).trimmed();
    if (t.size() > 90)
        t = t.left(88) + QStringLiteral("\u2026");
    return t;
}
} // namespace

QString MainWindow::shownState() const {
    const LiveRun& r = *shown_;
    if (r.generation == 0)
        return {};
    if (failedGen_ >= r.generation && !failure_.isEmpty())
        return tr("failed: %1").arg(failure_);
    const int depth = r.spec.depth;
    if (r.cancelled) {
        if (r.forwardDone < depth)
            return tr("partial: cancelled at %1 %2").arg(stageName(r.spec)).arg(r.forwardDone);
        return tr("partial: cancelled in the backward pass (%1/%2 %3s)")
            .arg(r.backwardDone)
            .arg(depth)
            .arg(stageName(r.spec));
    }
    if (!ready(r)) {
        if (r.forwardDone < depth)
            return tr("partial: %1 %2/%3").arg(stageName(r.spec)).arg(r.forwardDone).arg(depth);
        return tr("partial: backward %1/%2").arg(r.backwardDone).arg(depth);
    }
    if (!notRun_.isEmpty() || submitPending_ || !(r.spec == submittedSpec_))
        return tr("stale: settings changed");
    return {};
}

void MainWindow::markViews() {
    const LiveRun& r = *shown_;
    if (pinAction_) {
        pinAction_->setEnabled(r.generation != 0 && r.finished);
        clearReferenceAction_->setEnabled(reference_ != nullptr);
    }
    QString run = r.generation != 0 ? tr("run #%1").arg(r.generation) : QString();
    const LoadedWeightsPtr weights = shownWeights(); // work-W
    if (weights && !run.isEmpty())
        run += tr(" \u2014 learned weights");
    const QString state = shownState();
    for (LayerChart* c : {signal_, gradients_, correlation_, statistic_}) {
        c->setRunLabel(run);
        c->setStateNote(state);
    }
    for (HeatmapWidget* h : {distribution_, activations_}) {
        h->setRunLabel(run);
        h->setStateNote(state);
    }
    // the status bar describes the run the charts show, and says what is newer
    QString text;
    const QString shownRun = r.generation != 0 ? tr("the charts show run #%1").arg(r.generation)
                                               : tr("nothing is shown yet");
    if (!notRun_.isEmpty()) {
        text = tr("Not run: %1 \u2014 %2").arg(firstLine(notRun_), shownRun);
    } else if (failedGen_ != 0 && failedGen_ >= r.generation && !failure_.isEmpty()) {
        text = tr("Run #%1 failed: %2 \u2014 %3").arg(failedGen_).arg(failure_, shownRun);
    } else if (r.generation == 0) {
        text = tr("Waiting for the first run...");
    } else {
        if (r.finished)
            text = tr("Run #%1 done in %2 ms: depth %3, width %4, batch %5; input gradient "
                      "E\u2016\u2202L/\u2202x\u2016\u00b2 = %6")
                       .arg(r.generation)
                       .arg(r.seconds * 1e3, 0, 'f', 1)
                       .arg(r.spec.depth)
                       .arg(shownWidth(r.spec))
                       .arg(r.spec.batch)
                       .arg(num(r.inputGrad2));
        else
            text = tr("Run #%1: depth %2, width %3, batch %4")
                       .arg(r.generation)
                       .arg(r.spec.depth)
                       .arg(shownWidth(r.spec))
                       .arg(r.spec.batch);
        if (!state.isEmpty())
            text += QStringLiteral(" \u2014 ") + state;
        if (weights) // work-W
            text += tr(" \u2014 weights: %1").arg(weights->source);
    }
    if (text != status_->text()) {
        status_->setText(text);
        status_->setToolTip(text);
    }
}

void MainWindow::onStarted(quint64 gen, const NetworkSpec& spec, const TheoryCurves& theory) {
    if (gen <= live_.generation)
        return; // the controller delivers only runs that are not superseded
    if (ready(live_)) {
        complete_ = std::move(live_);
        if (shown_ == &live_)
            shown_ = &complete_;
    }
    live_ = LiveRun{};
    live_.generation = gen;
    // work-W: the weights of older runs are no longer shown (the shown run is at most this old)
    runWeights_.erase(runWeights_.begin(),
                      runWeights_.lower_bound(std::min(gen, shown_->generation)));
    live_.spec = spec;
    live_.theory = theory;
    live_.layers.resize(static_cast<std::size_t>(spec.depth));
    live_.dirty = true;
    controls_->setErrors({});
    controls_->setTheory(spec, theory);
}

void MainWindow::onForward(quint64 gen, const LayerStats& s) {
    if (gen != live_.generation || s.index < 1 || s.index > static_cast<int>(live_.layers.size()))
        return;
    live_.layers[static_cast<std::size_t>(s.index - 1)] = s;
    ++live_.forwardDone;
    if (live_.firstNonfinite == 0 && (s.nonfinite > 0 || !std::isfinite(s.q)))
        live_.firstNonfinite = s.index;
    live_.dirty = true;
}

void MainWindow::onBackward(quint64 gen, const LayerStats& s) {
    if (gen != live_.generation || s.index < 1 || s.index > static_cast<int>(live_.layers.size()))
        return;
    // the backward statistics of the schema onto the layer's forward value (onForward)
    copyPass(StatPass::Backward, s, live_.layers[static_cast<std::size_t>(s.index - 1)]);
    ++live_.backwardDone;
    live_.dirty = true;
}

// ---- work-W: loaded weights --------------------------------------------------------------

QString MainWindow::weightField(const NetworkSpec& loaded, const NetworkSpec& edited) {
    // the fields that change neither the weights nor their shape: the inputs' batch and
    // distribution, the loss and its step size, the histogram, threads and the budget
    static const QStringList keep = {
        QStringLiteral("batch"),       QStringLiteral("input_mean"),
        QStringLiteral("input_scale"), QStringLiteral("learning_rate"),
        QStringLiteral("loss"),        QStringLiteral("hist_bins"),
        QStringLiteral("threads"),     QStringLiteral("memory_budget_gib")};
    for (const QString& f : changedFields(loaded, edited))
        if (!keep.contains(f))
            return f;
    if (!(loaded.heads == edited.heads))
        return QStringLiteral("heads");
    return {};
}

void MainWindow::loadWeights(const LoadedWeightsPtr& weights) {
    if (!weights)
        return;
    loaded_.reset(); // the controls' change below is the load, not an edit that unloads
    controls_->setSpec(weights->spec);
    const NetworkSpec shown = controls_->spec();
    if (const QString f = weightField(weights->spec, shown); !f.isEmpty()) {
        weightsMessage_ = tr("Not loaded: the controls cannot hold the weights' %1.").arg(f);
        statusBar()->showMessage(weightsMessage_, 10000);
        showWeightsState();
        scheduleRun();
        return;
    }
    auto w = std::make_shared<LoadedWeights>(*weights);
    w->spec = shown; // as the controls hold it (threads, budget: fields that keep the weights)
    loaded_ = std::move(w);
    weightsMessage_ =
        tr("Loaded %1 into the main views. Changing depth, width, init, gain, seed, "
           "\u03c3_b\u00b2, activation, input dim or any field that redraws or reshapes the "
           "weights unloads them (batch, input scale and mean, loss keep them).")
            .arg(loaded_->source);
    statusBar()->showMessage(weightsMessage_, 10000);
    showWeightsState();
    scheduleRun();
}

void MainWindow::unloadWeights(const QString& why) {
    if (!loaded_)
        return;
    const QString source = loaded_->source;
    loaded_.reset();
    weightsMessage_ = why.isEmpty()
                          ? tr("Unloaded %1: the views show the spec's drawn weights.").arg(source)
                          : tr("Learned weights unloaded: %1, which redraws the weights; the "
                               "views show the spec's drawn weights.")
                                .arg(why);
    statusBar()->showMessage(weightsMessage_, 10000);
    showWeightsState();
    if (why.isEmpty())
        scheduleRun(); // the button: the same spec on its drawn weights (an edit runs anyway)
}

LoadedWeightsPtr MainWindow::shownWeights() const {
    const auto it = runWeights_.find(shown_->generation);
    return it == runWeights_.end() ? nullptr : it->second;
}

QString MainWindow::weightsNotSaved(bool forFigure) const {
    const LoadedWeightsPtr w = forFigure ? shownWeights() : loaded_;
    if (!w)
        return QString();
    return (forFigure ? tr("The figure shows the loaded weights (%1). The experiment embedded in "
                           "it holds settings, not weights: opened again, it runs on weights "
                           "drawn from them.")
                      : tr("The preset holds the settings, not the loaded weights (%1): opened "
                           "again, it runs on weights drawn from them."))
               .arg(w->source) +
           tr("\n\nTo run on them again, run MAML with the same settings and seed in the MAML "
              "view and press Load learned init.");
}

void MainWindow::tellWeightsNotSaved(bool forFigure) {
    const QString text = weightsNotSaved(forFigure);
    if (text.isEmpty() || closing_) // closing: the close question said it
        return;
    // not modal to the application: the save is done, this only says what it holds
    auto* box = new QMessageBox(QMessageBox::Information,
                                forFigure ? tr("Exported without the weights")
                                          : tr("Saved without the weights"),
                                text, QMessageBox::Ok, this);
    box->setObjectName(QStringLiteral("weightsNotSavedBox"));
    box->setAttribute(Qt::WA_DeleteOnClose);
    box->open();
}

QString MainWindow::weightsText() const {
    return loaded_ ? weightsLabel_->text() : QString();
}

void MainWindow::showWeightsState() {
    weightsBox_->setVisible(loaded_ != nullptr);
    weightsLabel_->setText(loaded_ ? tr("weights: %1").arg(loaded_->source) : QString());
    weightsLabel_->setToolTip(
        loaded_ ? tr("The main views run on these weights, not on the spec's random draws. The "
                     "analysis, training and application tabs compute on drawn "
                     "weights of the spec. A saved preset, and the experiment embedded in an "
                     "exported figure, hold the settings, not these weights: they reopen on drawn "
                     "weights.")
                : QString());
    analysis_->setWeightsNote(
        loaded_ ? tr("The main views run on loaded weights (%1); this view computes on the "
                     "spec's drawn weights.")
                      .arg(loaded_->source)
                : QString());
    markViews();
}

void MainWindow::onHeatmaps(quint64 gen, const HeatmapImage& d, const HeatmapImage& a,
                            const HeatmapImage& n) {
    if (gen != live_.generation)
        return;
    live_.distribution = d;
    live_.activations = a;
    live_.activationsPerLayer = n;
    live_.dirty = true;
}

void MainWindow::onFinished(quint64 gen, const RunResult& result) {
    if (gen != live_.generation)
        return;
    // The final values are authoritative (the engine may refine nothing, but never trust order).
    for (const LayerStats& s : result.layers) {
        if (s.index >= 1 && s.index <= static_cast<int>(live_.layers.size()))
            live_.layers[static_cast<std::size_t>(s.index - 1)] = s;
    }
    live_.forwardDone = live_.backwardDone = static_cast<int>(result.layers.size());
    live_.theory = result.theory;
    if (result.firstNonfiniteLayer > 0)
        live_.firstNonfinite = result.firstNonfiniteLayer;
    live_.finished = true;
    live_.seconds = result.seconds;
    live_.inputGrad2 = result.inputGrad2;
    live_.dirty = true;
    controls_->setCriticalInputScale(result.criticalInputScale,
                                     QString::fromStdString(result.criticalInputScaleNote));
}

void MainWindow::onFailed(quint64 gen, const QString& field, const QString& message) {
    if (gen < live_.generation)
        return;
    controls_->setErrors({SpecError{field.toStdString(), message.toStdString()}});
    failedGen_ = gen;
    failure_ = firstLine(message);
    keepShownRun();
    live_ = LiveRun{};
    progress_->setValue(0);
    progress_->setFormat(tr("run #%1 failed: %2").arg(gen).arg(failure_));
    markViews();
}

void MainWindow::frame() {
    if (live_.generation != 0)
        pushProgress(); // the run computing now, even while the charts hold a finished one
    markViews();        // cheap when nothing changed: the state follows edits and drags
    // What to show: the newest run once it has finished; else a finished run not shown yet;
    // else the newest run's partial layers, but only after the shown run has stood for kHoldMs
    // (a drag then shows whole curves instead of curves that grow from layer 1 each frame).
    LiveRun* next = nullptr;
    if (live_.generation != 0 && live_.dirty && ready(live_))
        next = &live_;
    else if (complete_.generation > displayedGen_)
        next = &complete_;
    else if (live_.generation != 0 && live_.dirty && live_.forwardDone > 0 &&
             (live_.generation == displayedGen_ || displayedGen_ == 0 ||
              sinceDisplay_.elapsed() >= kHoldMs))
        next = &live_;
    if (!next)
        return;
    if (next->generation != displayedGen_)
        sinceDisplay_.restart();
    QElapsedTimer cost;
    cost.start();
    shown_ = next;
    // Only the visible view is updated; the others are marked and catch up when selected.
    for (auto& [name, v] : layerViews_)
        v.stale = true;
    pushView(tabs_->currentWidget());
    next->dirty = false;
    displayedGen_ = next->generation;
    displayedComplete_ = next->finished;
    displayedSpec_ = next->spec;
    perf_->noteFrameCost(static_cast<double>(cost.nsecsElapsed()) / 1e6);
    const bool completeShown = ready(*next) && completeCounted_ != next->generation;
    if (completeShown)
        completeCounted_ = next->generation;
    perf_->noteChartUpdate(completeShown);
    markViews();
    emit chartsUpdated(displayedGen_, displayedComplete_);
}

bool MainWindow::gradientsVisible() const {
    // the statistic view may draw a backward statistic (grad_row_spread, relative_update, ...)
    return tabs_->currentWidget() == gradients_ || tabs_->currentWidget() == statisticPage_;
}

bool MainWindow::ready(const LiveRun& run) const {
    return run.finished ||
           (run.backwardSkipped && run.forwardDone >= run.spec.depth && !gradientsVisible());
}

void MainWindow::syncAllViews() {
    for (const auto& [name, v] : layerViews_)
        if (v.stale)
            pushView(v.page);
}

void MainWindow::pushView(QWidget* page) {
    if (shown_->generation == 0)
        return;
    for (auto& [name, v] : layerViews_) {
        if (v.page != page || !v.stale)
            continue;
        (this->*v.push)();
        // the views drawn by the same push (distribution and activations) are current too
        for (auto& [other, w] : layerViews_)
            if (w.push == v.push)
                w.stale = false;
        return;
    }
}

void MainWindow::pushSignal() {
    feedSignal(signal_, {shown_->spec, shown_->theory, shown_->layers, shown_->firstNonfinite,
                         reference_.get()});
}

void MainWindow::pushGradients() {
    feedGradients(gradients_, {shown_->spec, shown_->theory, shown_->layers, shown_->firstNonfinite,
                               reference_.get()});
}

void MainWindow::pushCorrelation() {
    feedCorrelation(correlation_, {shown_->spec, shown_->theory, shown_->layers,
                                   shown_->firstNonfinite, reference_.get()});
}

void MainWindow::pushStatistic() {
    feedStatistic(
        statistic_,
        {shown_->spec, shown_->theory, shown_->layers, shown_->firstNonfinite, reference_.get()},
        currentStatistic());
}

void MainWindow::pushHeatmaps() {
    if (!shown_->distribution.isNull())
        showHeatmap(distribution_, shown_->distribution, shown_->spec);
    const HeatmapImage& a =
        perLayer_->isChecked() ? shown_->activationsPerLayer : shown_->activations;
    if (!a.isNull())
        showHeatmap(activations_, a, shown_->spec);
}

void MainWindow::pushProgress() {
    const LiveRun& r = live_;
    const int depth = r.spec.depth;
    progress_->setMaximum(2 * std::max(1, depth));
    progress_->setValue(r.forwardDone + r.backwardDone);
    const QString stage = stageName(r.spec); // "layer", "block"
    QString text;
    if (r.backwardSkipped) {
        progress_->setValue(progress_->maximum());
        text = tr("run #%1: %3 %2/%2 (backward skipped: newer settings)")
                   .arg(r.generation)
                   .arg(depth)
                   .arg(stage);
    } else if (r.finished) {
        text = tr("run #%1: done, %2/%2 %3s").arg(r.generation).arg(depth).arg(stage);
    } else if (r.forwardDone < depth) {
        text = tr("run #%1: %4 %2/%3").arg(r.generation).arg(r.forwardDone).arg(depth).arg(stage);
    } else {
        text = tr("run #%1: %4 %2/%2, backward %3/%2")
                   .arg(r.generation)
                   .arg(depth)
                   .arg(r.backwardDone)
                   .arg(stage);
    }
    if (r.cancelled)
        text += tr(" \u2014 cancelled");
    if (progress_->format() != text)
        progress_->setFormat(text);
}

namespace {
const QString kGeometryKey = QStringLiteral("window/geometry");
const QString kStateKey = QStringLiteral("window/docks");
const QString kViewKey = QStringLiteral("window/view");
const QString kThemeKey = QStringLiteral("window/theme");
const QString kExperimentKey = QStringLiteral("window/lastExperiment");
} // namespace

bool MainWindow::restoreSession(bool experiment) {
    rememberSession_ = true;
    bool restored = false;
    const QByteArray geometry =
        QByteArray::fromBase64(settings::value(kGeometryKey).toString().toLatin1());
    if (!geometry.isEmpty())
        restoreGeometry(geometry);
    const QByteArray state =
        QByteArray::fromBase64(settings::value(kStateKey).toString().toLatin1());
    if (!state.isEmpty())
        restoreState(state);
    if (!tour_->isActive())
        tour_->dock()->hide(); // its place is remembered; an empty tour is not shown
    const QString theme = settings::value(kThemeKey).toString();
    if (!theme.isEmpty())
        setTheme(theme);
    if (experiment) {
        const std::string json = settings::value(kExperimentKey).toString().toStdString();
        if (!json.empty()) {
            // read strictly like any preset file: a damaged value is ignored, never half used
            const PresetParse p = parsePreset(json);
            if (p.preset) {
                presets_->applyPreset(*p.preset);
                restored = true;
            }
        }
    }
    const QString view = settings::value(kViewKey).toString();
    if (!view.isEmpty())
        showView(view);
    return restored;
}

bool MainWindow::saveSession(QString* error) {
    return settings::setValue(kGeometryKey, QString::fromLatin1(saveGeometry().toBase64()),
                              error) &&
           settings::setValue(kStateKey, QString::fromLatin1(saveState().toBase64()), error) &&
           settings::setValue(kViewKey, currentView(), error) &&
           settings::setValue(kThemeKey, theme_, error) &&
           settings::setValue(kExperimentKey,
                              QString::fromStdString(presetToJson(presets_->currentPreset())),
                              error);
}

void MainWindow::closeEvent(QCloseEvent* event) {
    presentation_->leave(); // the session remembers the window as it is outside the lecture
    if (confirmClose_ && presets_->isModified()) {
        const QString weights = weightsNotSaved(false);
        const auto answer = QMessageBox::question(
            this, tr("Unsaved experiment"),
            tr("The settings on screen are not saved in a preset. Save them before closing?") +
                (weights.isEmpty() ? QString() : QStringLiteral("\n\n") + weights),
            QMessageBox::Save | QMessageBox::Discard | QMessageBox::Cancel, QMessageBox::Save);
        closing_ = true; // a save from here says nothing more: the window goes
        const bool saved = answer != QMessageBox::Save || presets_->save();
        closing_ = false;
        if (answer == QMessageBox::Cancel || !saved) {
            event->ignore();
            return;
        }
    }
    if (rememberSession_)
        saveSession();
    frameTimer_.stop();
    submitTimer_.stop();
    controller_->cancelAll();
    event->accept();
}

} // namespace initscope::ui
