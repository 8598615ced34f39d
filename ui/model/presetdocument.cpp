#include "model/presetdocument.h"

#include "views/rlview.h"
#include "views/trainabilityview.h"

#include "views/jacobianview.h"
#include "views/mamlview.h"

#include "views/ntkview.h"
#include "views/pinnview.h"

#include "views/analysisviews.h"

#include "model/presetbrowser.h"
#include "model/presetio.h"
#include "model/specdiff.h"
#include "views/rlview.h"
#include "views/trainview.h"
#include "views/viewregistry.h"
#include "window/controlpanel.h"
#include "window/mainwindow.h"
#include "window/settings.h"
#include "work/tourcontroller.h"

#include <QAction>
#include <QApplication>
#include <QDir>
#include <QDockWidget>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QFileDialog>
#include <QFileInfo>
#include <QInputDialog>
#include <QKeySequence>
#include <QLineEdit>
#include <QMenu>
#include <QMessageBox>
#include <QMimeData>
#include <QStatusBar>
#include <QUndoCommand>
#include <QUndoStack>

#include <algorithm>
#include <chrono>

namespace initscope::ui {

namespace {
const QString kRecentKey = QStringLiteral("presets/recentFiles");
const QString kLastDirKey = QStringLiteral("presets/lastDir");

QString fileFilter() {
    return PresetDocument::tr("initscope presets and figures (*.json *.png *.svg);;Presets "
                              "(*.json);;Exported figures (*.png *.svg);;All files (*)");
}

/// The one local file a drag carries, if it is one initscope can open.
QString droppedFile(const QMimeData* mime) {
    if (!mime || !mime->hasUrls() || mime->urls().size() != 1)
        return {};
    const QUrl url = mime->urls().front();
    if (!url.isLocalFile())
        return {};
    const QString path = url.toLocalFile();
    return PresetDocument::isOpenable(path) ? path : QString();
}

qint64 nowMs() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

/// One change of the settings: the whole spec before and after. Changes of the same fields
/// merge while a slider is dragged or when they follow each other within kMergeMs.
class SpecCommand : public QUndoCommand {
public:
    static constexpr int kId = 0x5be0;
    SpecCommand(PresetDocument* doc, const NetworkSpec& before, const NetworkSpec& after,
                const QString& action, bool dragging)
        : doc_(doc), before_(before), after_(after), fields_(changedFields(before, after)),
          action_(action), dragging_(dragging), at_(nowMs()) {
        name();
    }
    // a gain button is a step of its own, never merged with the drag before it
    int id() const override { return action_.isEmpty() ? kId : -1; }
    bool mergeWith(const QUndoCommand* other) override {
        const auto* o = static_cast<const SpecCommand*>(other); // the same id
        if (!o->action_.isEmpty() || o->fields_ != fields_)
            return false;
        if (!(dragging_ && o->dragging_) && o->at_ - at_ > PresetDocument::kMergeMs)
            return false;
        after_ = o->after_;
        at_ = o->at_;
        dragging_ = o->dragging_;
        setObsolete(after_ == before_); // dragged back to where it started: no step
        name();
        return true;
    }
    void undo() override { doc_->restoreSpec(before_); }
    void redo() override {
        if (first_) { // pushed after the change was made
            first_ = false;
            return;
        }
        doc_->restoreSpec(after_);
    }

private:
    void name() {
        const QString change = changeText(before_, after_);
        setText(action_.isEmpty() ? change : QStringLiteral("%1 (%2)").arg(change, action_));
    }
    PresetDocument* doc_;
    NetworkSpec before_, after_;
    QStringList fields_;
    QString action_;
    bool dragging_;
    qint64 at_;
    bool first_ = true;
};

/// Loading a preset or a file: the experiment and the document (name, file, saved state).
class LoadCommand : public QUndoCommand {
public:
    LoadCommand(PresetDocument* doc, PresetDocument::State before, PresetDocument::State after,
                const QString& what)
        : QUndoCommand(what), doc_(doc), before_(std::move(before)), after_(std::move(after)) {}
    void undo() override { doc_->restoreState(before_); }
    void redo() override {
        if (first_) {
            first_ = false;
            return;
        }
        doc_->restoreState(after_);
    }

private:
    PresetDocument* doc_;
    PresetDocument::State before_, after_;
    bool first_ = true;
};
} // namespace

PresetDocument::PresetDocument(MainWindow* window) : QObject(window), window_(window) {
    setObjectName(QStringLiteral("presetDocument"));
    baseTitle_ = window->windowTitle();
    savedSpec_ = window->controls()->spec();
    recorded_ = savedSpec_;
    undo_ = new QUndoStack(this);
    undo_->setObjectName(QStringLiteral("settingsUndo"));
    connect(undo_, &QUndoStack::cleanChanged, this, &PresetDocument::updateModified);
    base_.name = "my-experiment";
    base_.title = tr("My experiment").toStdString();
    browser_ = new PresetBrowser;
    dock_ = new QDockWidget(tr("Presets"), window);
    dock_->setObjectName(QStringLiteral("presetDock"));
    dock_->setWidget(browser_);
    dock_->setFeatures(QDockWidget::DockWidgetMovable | QDockWidget::DockWidgetFloatable |
                       QDockWidget::DockWidgetClosable);
    // Beside the controls as a second tab: the charts keep the width of the window.
    browser_->setMinimumWidth(280);
    if (auto* controls = window->findChild<QDockWidget*>(QStringLiteral("controlsDock"))) {
        window->addDockWidget(window->dockWidgetArea(controls), dock_);
        window->tabifyDockWidget(controls, dock_);
        controls->raise();
    } else {
        window->addDockWidget(Qt::RightDockWidgetArea, dock_);
    }
    connect(browser_, &PresetBrowser::presetChosen, this,
            [this](const Preset& p, const QString& path) {
                // a user preset saves back to its file; a bundled one asks
                load(p, path, tr("load preset %1").arg(QString::fromStdString(p.name)));
                window_->statusBar()->showMessage(
                    tr("Loaded preset \u201c%1\u201d").arg(QString::fromStdString(p.title)), 5000);
            });
    // Drops land on whichever child is under the cursor (chart views accept drops for their
    // scene), so they are caught application-wide and kept to this window.
    window->setAcceptDrops(true);
    qApp->installEventFilter(this);
    updateTitle();
}

void PresetDocument::showBrowser() {
    dock_->show();
    dock_->raise();
    browser_->searchField()->setFocus();
    browser_->searchField()->selectAll();
}

bool PresetDocument::isOpenable(const QString& path) {
    const QString s = QFileInfo(path).suffix().toLower();
    return s == QLatin1String("json") || s == QLatin1String("png") || s == QLatin1String("svg");
}

void PresetDocument::addFileActions(QMenu* file) {
    QAction* first = file->actions().isEmpty() ? nullptr : file->actions().front();
    auto add = [&](const QString& text, const QKeySequence& key, auto slot) {
        auto* a = new QAction(text, file);
        a->setShortcut(key);
        connect(a, &QAction::triggered, this, slot);
        file->insertAction(first, a);
        return a;
    };
    add(tr("&Open preset or figure..."), QKeySequence::Open, &PresetDocument::openDialog);
    recentMenu_ = new QMenu(tr("Open &recent"), file);
    recentMenu_->setObjectName(QStringLiteral("recentMenu"));
    file->insertMenu(first, recentMenu_);
    connect(recentMenu_, &QMenu::aboutToShow, this, &PresetDocument::fillRecentMenu);
    add(tr("&Save preset"), QKeySequence::Save, [this] { save(); });
    add(tr("Save preset &as..."), QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_S),
        &PresetDocument::saveAsDialog);
    add(tr("Save to &my presets..."), QKeySequence(), &PresetDocument::saveToUserDialog);
    file->insertSeparator(first);
    fillRecentMenu();
}

Preset PresetDocument::currentPreset() const {
    Preset p = base_;
    p.spec = window_->controls()->spec();
    // the visible view, if a preset can name it (every tab can: viewregistry.h)
    const std::string view = window_->currentView().toStdString();
    if (std::find(presetViews().begin(), presetViews().end(), view) != presetViews().end())
        p.view = view;
    // the probe count of the view it opens (the only view settings a preset carries)
    p.viewInputs = p.view == "ntk"        ? window_->analysisViews()->ntk()->inputs()
                   : p.view == "jacobian" ? window_->analysisViews()->jacobian()->inputs()
                                          : 0;
    if (p.view == "statistic")
        p.statistic = window_->currentStatistic().toStdString();
    // a view's settings belong to a preset that opens it
    p.pinn.reset();
    p.maml.reset();
    p.trainability.reset();
    p.rl.reset();
    if (p.view == "pinn")
        p.pinn = window_->analysisViews()->pinn()->settings();
    if (p.view == "maml")
        p.maml = window_->analysisViews()->maml()->settings();
    if (p.view == "trainability")
        p.trainability = window_->analysisViews()->trainability()->settings();
    if (p.view == "rl")
        p.rl = window_->analysisViews()->rl()->rlSpec();
    return p;
}

void PresetDocument::addEditActions(QMenu* edit) {
    QAction* undo = undo_->createUndoAction(edit, tr("&Undo"));
    undo->setObjectName(QStringLiteral("undoAction"));
    undo->setShortcut(QKeySequence::Undo);
    QAction* redo = undo_->createRedoAction(edit, tr("&Redo"));
    redo->setObjectName(QStringLiteral("redoAction"));
    redo->setShortcuts(
        {QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_Z), QKeySequence(Qt::CTRL | Qt::Key_Y)});
    edit->addAction(undo);
    edit->addAction(redo);
}

void PresetDocument::noteSpecChange() {
    if (restoring_)
        return;
    const NetworkSpec spec = window_->controls()->spec();
    if (spec == recorded_)
        return;
    auto* step = new SpecCommand(this, recorded_, spec, window_->controls()->editAction(),
                                 window_->controls()->isDragging());
    recorded_ = spec;
    undo_->push(step); // merges into the step before it where it continues that change
}

void PresetDocument::clearHistory() {
    undo_->clear();
    recorded_ = window_->controls()->spec();
    updateModified();
}

PresetDocument::State PresetDocument::state() const {
    return {recorded_, base_, file_, savedSpec_};
}

void PresetDocument::restoreSpec(const NetworkSpec& spec) {
    restoring_ = true;
    recorded_ = spec;
    window_->setSpec(spec); // the controls and a run, as any change
    restoring_ = false;
    updateModified();
}

void PresetDocument::restoreState(const State& s) {
    base_ = s.base;
    file_ = s.file;
    savedSpec_ = s.saved;
    browser_->select(QString::fromStdString(base_.name));
    restoreSpec(s.spec);
    updateTitle();
}

void PresetDocument::load(const Preset& preset, const QString& file, const QString& what) {
    State before = state();
    restoring_ = true; // one step for the whole load, not one for its spec
    showPreset(preset);
    restoring_ = false;
    file_ = file;
    recorded_ = window_->controls()->spec();
    updateTitle();
    undo_->push(new LoadCommand(this, std::move(before), state(), what));
    undo_->setClean();
}

void PresetDocument::applyPreset(const Preset& preset) {
    load(preset, file_, tr("load preset %1").arg(QString::fromStdString(preset.name)));
}

void PresetDocument::showPreset(const Preset& preset) {
    base_ = preset;
    // the settings of the view it opens (the probe count, "view_settings"), as an export of
    // that view takes them (viewregistry.h)
    const QString view = QString::fromStdString(preset.view);
    const ViewInfo* opened = findView(view);
    if (opened && opened->applyPreset)
        opened->applyPreset(window_->analysisViews()->widget(view), preset);
    window_->setSpec(preset.spec);
    savedSpec_ = window_->controls()->spec();
    // a train block sets the Training view's controls whatever view the preset opens
    if (const ViewInfo* t = findView(QStringLiteral("training")); preset.train && t != opened)
        t->applyPreset(window_->analysisViews()->training(), preset);
    if (!preset.statistic.empty())
        window_->showStatistic(QString::fromStdString(preset.statistic));
    if (!window_->showView(QString::fromStdString(preset.view)))
        window_->statusBar()->showMessage(
            tr("The %1 view is not in this window; showing the current view.")
                .arg(QString::fromStdString(preset.view)),
            6000);
    browser_->select(QString::fromStdString(preset.name));
    updateModified();
}

bool PresetDocument::openFile(const QString& path) {
    lastError_.clear();
    if (tourOpener_ && isTourFile(path)) { // a tour opens like a preset: File > Open, drops
        QString message;
        if (!tourOpener_(path, &message)) {
            error(tr("Cannot open %1").arg(QFileInfo(path).fileName()), message);
            return false;
        }
        addRecent(QFileInfo(path).absoluteFilePath());
        return true;
    }
    const PresetParse r = readPresetOrFigure(path);
    if (!r.preset) {
        error(tr("Cannot open %1").arg(QFileInfo(path).fileName()),
              presetErrorMessage(path, r.errors));
        return false;
    }
    // a figure restores its experiment; saving writes a preset, never over the image
    load(*r.preset,
         QFileInfo(path).suffix().toLower() == QLatin1String("json")
             ? QFileInfo(path).absoluteFilePath()
             : QString(),
         tr("open %1").arg(QFileInfo(path).fileName()));
    addRecent(QFileInfo(path).absoluteFilePath());
    window_->statusBar()->showMessage(tr("Opened %1").arg(QDir::toNativeSeparators(path)), 5000);
    return true;
}

bool PresetDocument::save() {
    if (file_.isEmpty()) {
        saveAsDialog();
        return !file_.isEmpty() && lastError_.isEmpty();
    }
    return saveAs(file_);
}

bool PresetDocument::saveAs(const QString& path) {
    lastError_.clear();
    Preset p = currentPreset();
    // named after its file: a changed copy of a bundled preset must not take the bundled name
    p.name = presetNameFrom(QFileInfo(path).completeBaseName());
    QString message;
    if (!savePreset(p, path, &message)) {
        error(tr("Save failed"), message + tr("\n\nThe file on disk was not changed."));
        return false;
    }
    base_ = p;
    savedSpec_ = p.spec;
    undo_->setClean();
    file_ = QFileInfo(path).absoluteFilePath();
    QString recentError;
    const bool remembered = addRecent(file_, &recentError);
    updateTitle();
    if (QFileInfo(path).absolutePath() == QFileInfo(userPresetDir()).absoluteFilePath())
        browser_->refresh();
    // after the settings reporter's message, so that a failure to remember the file stays visible
    window_->statusBar()->showMessage(remembered
                                          ? tr("Saved %1").arg(QDir::toNativeSeparators(path))
                                          : tr("Saved %1, but it is not in the recent files: %2")
                                                .arg(QDir::toNativeSeparators(path), recentError),
                                      remembered ? 5000 : 15000);
    window_->tellWeightsNotSaved(false); // loaded weights are not part of a preset
    return true;
}

bool PresetDocument::saveToUserPresets(const QString& title) {
    if (!QDir().mkpath(userPresetDir())) {
        error(tr("Save failed"), tr("Cannot create the folder %1.").arg(userPresetDir()));
        return false;
    }
    base_.title = title.toStdString();
    base_.name = presetNameFrom(title);
    const bool ok = saveAs(userPresetDir() + QLatin1Char('/') + QString::fromStdString(base_.name) +
                           QStringLiteral(".json"));
    browser_->refresh();
    return ok;
}

QStringList PresetDocument::recentFiles() const {
    return settings::value(kRecentKey).toStringList();
}

bool PresetDocument::addRecent(const QString& path, QString* error) {
    QStringList r = recentFiles();
    r.removeAll(path);
    r.prepend(path);
    while (r.size() > kMaxRecent)
        r.removeLast();
    return settings::setValue(kRecentKey, r, error) &&
           settings::setValue(kLastDirKey, QFileInfo(path).absolutePath(), error);
}

void PresetDocument::fillRecentMenu() {
    if (!recentMenu_)
        return;
    recentMenu_->clear();
    const QStringList files = recentFiles();
    for (int i = 0; i < files.size(); ++i) {
        const QString path = files[i];
        QAction* a = recentMenu_->addAction(
            QStringLiteral("&%1 %2").arg(i + 1).arg(QFileInfo(path).fileName()), this,
            [this, path] { openFile(path); });
        a->setToolTip(QDir::toNativeSeparators(path));
        a->setEnabled(QFileInfo::exists(path));
    }
    if (files.isEmpty())
        recentMenu_->addAction(tr("(no recent files)"))->setEnabled(false);
    else {
        recentMenu_->addSeparator();
        recentMenu_->addAction(tr("&Clear the list"), this, [] { settings::remove(kRecentKey); });
    }
}

void PresetDocument::openDialog() {
    const QString dir = settings::value(kLastDirKey, QDir::homePath()).toString();
    const QString path =
        QFileDialog::getOpenFileName(window_, tr("Open a preset or a figure"), dir, fileFilter());
    if (!path.isEmpty())
        openFile(path);
}

void PresetDocument::saveAsDialog() {
    const QString dir = file_.isEmpty() ? settings::value(kLastDirKey, QDir::homePath()).toString()
                                        : QFileInfo(file_).absolutePath();
    const QString suggested =
        dir + QLatin1Char('/') + QString::fromStdString(currentPreset().name) + ".json";
    QString path = QFileDialog::getSaveFileName(window_, tr("Save the experiment as a preset"),
                                                suggested, tr("Presets (*.json)"));
    if (path.isEmpty())
        return;
    if (QFileInfo(path).suffix().isEmpty())
        path += QStringLiteral(".json");
    saveAs(path);
}

void PresetDocument::saveToUserDialog() {
    bool ok = false;
    const QString title =
        QInputDialog::getText(window_, tr("Save to my presets"),
                              tr("Title (shown in the preset browser; the file goes to %1):")
                                  .arg(QDir::toNativeSeparators(userPresetDir())),
                              QLineEdit::Normal, QString::fromStdString(base_.title), &ok);
    if (ok && !title.trimmed().isEmpty())
        saveToUserPresets(title.trimmed());
}

void PresetDocument::error(const QString& title, const QString& text) {
    lastError_ = text;
    if (dialogs_)
        QMessageBox::warning(window_, title, text); // else the caller reports lastError()
}

void PresetDocument::updateTitle() {
    const QString& base = baseTitle_;
    // "[*]": the modified mark (QWidget::setWindowModified), after the experiment's name
    window_->setWindowTitle(
        file_.isEmpty()
            ? QStringLiteral("%1[*] \u2014 %2")
                  .arg(QString::fromStdString(base_.title.empty() ? base_.name : base_.title), base)
            : QStringLiteral("%1[*] \u2014 %2").arg(QFileInfo(file_).fileName(), base));
    updateModified();
}

bool PresetDocument::isModified() const {
    return !(window_->controls()->spec() == savedSpec_);
}

void PresetDocument::updateModified() {
    window_->setWindowModified(isModified());
}

bool PresetDocument::eventFilter(QObject* watched, QEvent* event) {
    const auto type = event->type();
    if (type != QEvent::DragEnter && type != QEvent::DragMove && type != QEvent::Drop)
        return false;
    auto* w = qobject_cast<QWidget*>(watched);
    if (!w || w->window() != window_)
        return false;
    auto* drop = static_cast<QDropEvent*>(event);
    const QString path = droppedFile(drop->mimeData());
    if (path.isEmpty())
        return false; // not ours: the widget decides
    drop->setDropAction(Qt::CopyAction);
    drop->accept();
    if (type == QEvent::Drop)
        openFile(path);
    return true;
}

} // namespace initscope::ui
